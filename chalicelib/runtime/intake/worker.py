"""Running a handler in a worker thread so the reply leaves in time even if it overruns.

Worker threads are reused: starting a thread costs more than handing a job to one that waits.
A worker busy with an overrunning handler is simply not idle, so the next delivery gets
another one (the pool grows); at most `keep_idle` idle workers are kept, the rest end.

Python cannot stop a thread, so an overrunning handler keeps running after the runtime has
answered "this is taking too long"; its late result is dropped. In Lambda the container is
frozen between invocations, so such a thread only continues when the next one arrives. The
handler's platform calls carry the same deadline, so they fail fast once it has passed.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Final, TypeVar

T = TypeVar("T")

# Enough for the deliveries `chalice local` serves at once; Lambda runs one at a time.
KEEP_IDLE: Final = 4

_Job = tuple[contextvars.Context, Callable[[], Any], "Future[Any]"]


class Overrun(Exception):
    """The work did not finish within its time."""


class Workers:
    """A pool of daemon threads that grows when every worker is busy."""

    def __init__(self, *, keep_idle: int = KEEP_IDLE, name: str = "dailybot-handler") -> None:
        self._keep_idle = keep_idle
        self._name = name
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[_Job]] = []
        self.started = 0
        """How many threads the pool has started (for tests and benchmarks)."""

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Starts `work()` on an idle worker (or a new one); its result arrives in the future.

        It runs in a copy of the caller's context: the delivery's log keys live in a context
        variable.
        """
        future: Future[T] = Future()
        job: _Job = (contextvars.copy_context(), work, future)
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self.started += 1
        if inbox is None:
            inbox = queue.SimpleQueue()
            thread = threading.Thread(target=self._serve, args=(inbox,), name=self._name)
            thread.daemon = True
            thread.start()
        inbox.put(job)
        return future

    def run_within(self, work: Callable[[], T], seconds: float) -> T:
        """`work()`'s result (or exception), or `Overrun` once `seconds` have passed."""
        return wait_within(self.submit(work), seconds)

    def _serve(self, inbox: queue.SimpleQueue[_Job]) -> None:
        while True:
            context, work, future = inbox.get()
            context.run(_run, work, future)
            # An idle worker must not keep the last delivery (its context, its reply) alive.
            del context, work, future
            with self._lock:
                if len(self._idle) >= self._keep_idle:
                    return
                self._idle.append(inbox)


def _run(work: Callable[[], Any], future: Future[Any]) -> None:
    future.set_running_or_notify_cancel()
    try:
        future.set_result(work())
    except BaseException as exc:  # handed to the waiting thread, which re-raises it
        future.set_exception(exc)


def wait_within(future: Future[T], seconds: float) -> T:
    """The future's result (or exception), or `Overrun` once `seconds` have passed."""
    try:
        return future.result(timeout=max(seconds, 0.0))
    except TimeoutError:
        if future.done():  # the work itself raised a TimeoutError
            raise
        raise Overrun from None


workers = Workers()
"""The process's handler workers."""


def run_within(work: Callable[[], T], seconds: float) -> T:
    """`work()` on one of the process's workers, within `seconds` (see `Workers.run_within`)."""
    return workers.run_within(work, seconds)
