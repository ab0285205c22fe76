"""Deferred jobs end to end: the emulator invokes `chalice local`, which queues in SQLite; the
worker process runs the job and its follow-up reaches the emulator (`GET /_emulator/messages`).

One stack is shared; the worker runs one job at a time, so these tests are few and each
waits only for its own follow-ups."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def messages(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.control("GET", "messages"))


def wait_for(
    stack: Stack, found: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = messages(stack)
        if found(current):
            return current
        time.sleep(0.1)
    raise AssertionError(f"not seen in {timeout} s; worker log:\n{stack.worker.log()[-3000:]}")


def tagged(current: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    return [m for m in current if tag in m["message"]]


def test_a_slow_job_answers_at_once_and_survives_a_killed_worker_with_one_follow_up(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:8]
    # Warm app and worker: each one's first delivery or job pays its cold start.
    stack.invoke("drill", "silent")
    queue = SQLiteJobQueue(stack.jobs_db)
    deadline = time.monotonic() + 30
    while queue.pending() and time.monotonic() < deadline:
        time.sleep(0.1)

    answer = stack.invoke("drill", f"nap 12 {tag}")

    assert answer["status_code"] == 200
    assert answer["reply"] == {"message": "Queued nap."}
    assert answer["elapsed_ms"] < 1000
    time.sleep(2)  # the worker is 2 s into the 12 s job
    stack.worker.kill()
    stack.worker.start()
    # The message reappears once its visibility window (13 s) ends; the job runs again.
    current = wait_for(stack, lambda m: bool(tagged(m, tag)), timeout=60)
    time.sleep(1)
    (follow_up,) = tagged(messages(stack), tag)
    assert follow_up["message"] == f"Slept 12 s for Jane Doe (nap 12 {tag})."
    assert follow_up["target_users"] == [follow_up["user_uuid"]]
    assert len(current) >= 1


def test_a_duplicate_delivery_adds_no_job(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    stack.gateway.lose_next = 1  # the app ran it; Dailybot sees a 500 and delivers again
    seen = len(stack.gateway.forwarded)

    answer = stack.invoke("drill", f"nap 0 {tag}")

    assert answer["reply"] == {"message": "Queued nap."}
    assert [status for _, status in stack.gateway.forwarded[seen:]] == [200, 200]
    wait_for(stack, lambda m: bool(tagged(m, tag)), timeout=20)
    time.sleep(0.5)
    assert len(tagged(messages(stack), tag)) == 1


def test_a_job_failing_twice_then_succeeding_sends_one_follow_up(
    stack: Stack, tmp_path: Any
) -> None:
    tag = uuid.uuid4().hex[:8]
    counter = tmp_path / "attempts"

    stack.invoke("drill", f"flaky {counter} 2 {tag}")

    wait_for(stack, lambda m: bool(tagged(m, tag)), timeout=20)
    time.sleep(0.5)
    (follow_up,) = tagged(messages(stack), tag)
    assert follow_up["message"].startswith("Done after 3 attempts")
    assert counter.read_text() == "3"


def test_a_job_always_failing_sends_one_failure_and_is_dead_lettered(stack: Stack) -> None:
    failure = "Sorry, I couldn't finish the work for *drill*"
    before = len([m for m in messages(stack) if m["message"].startswith(failure)])
    queue = SQLiteJobQueue(stack.jobs_db)
    dead_before = len(queue.dead_letters())

    stack.invoke("drill", "broken")

    wait_for(
        stack,
        lambda m: len([x for x in m if x["message"].startswith(failure)]) > before,
        timeout=20,
    )
    time.sleep(0.5)
    assert len([m for m in messages(stack) if m["message"].startswith(failure)]) == before + 1
    dead = queue.dead_letters()
    assert len(dead) == dead_before + 1
    assert dead[-1].message is not None
    assert dead[-1].message.job == "drill-broken"
    assert dead[-1].attempts == 3
