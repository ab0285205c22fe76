"""The handler workers: reused between deliveries, never blocked by an overrunning handler."""

from __future__ import annotations

import contextvars
import threading

import pytest

from chalicelib.runtime.intake.worker import Overrun, Workers

NAME = "test-worker"


def running_workers(name: str) -> int:
    return sum(thread.name == name for thread in threading.enumerate())


def test_one_worker_serves_delivery_after_delivery() -> None:
    workers = Workers(name=NAME)

    answers = [workers.run_within(lambda n=n: n * 2, 1.0) for n in range(20)]

    assert answers == [n * 2 for n in range(20)]
    assert workers.started == 1


def test_an_overrunning_handler_does_not_hold_up_the_next_delivery() -> None:
    workers = Workers(name=NAME)
    released = threading.Event()
    try:
        with pytest.raises(Overrun):
            workers.run_within(lambda: released.wait(10), 0.05)

        assert workers.run_within(lambda: "next", 1.0) == "next"
        assert workers.started == 2
    finally:
        released.set()


def test_the_pool_keeps_only_a_few_idle_workers() -> None:
    # A name of its own: idle workers of the other tests' pools wait on.
    workers = Workers(name=f"{NAME}-idle", keep_idle=2)
    released = threading.Event()
    futures = [workers.submit(lambda: released.wait(10)) for _ in range(6)]
    assert workers.started == 6

    released.set()
    for future in futures:
        assert future.result(timeout=5) is True

    # The four surplus workers end once their job is done; two wait for the next.
    for _ in range(100):
        if running_workers(f"{NAME}-idle") <= 2:
            break
        threading.Event().wait(0.02)
    assert running_workers(f"{NAME}-idle") == 2
    assert workers.run_within(lambda: "again", 1.0) == "again"
    assert workers.started == 6


def test_the_work_sees_the_caller_s_context_variables() -> None:
    workers = Workers(name=NAME)
    key: contextvars.ContextVar[str] = contextvars.ContextVar("key", default="unset")

    workers.run_within(lambda: None, 1.0)  # the worker exists before the value is set
    token = key.set("the delivery's")
    try:
        assert workers.run_within(key.get, 1.0) == "the delivery's"
    finally:
        key.reset(token)
    assert workers.run_within(key.get, 1.0) == "unset"
