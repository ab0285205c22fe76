"""Running a handler in a worker thread so the reply leaves in time even if it overruns.

Python cannot stop a thread, so an overrunning handler keeps running after the runtime has
answered "this is taking too long"; its late result is dropped. In Lambda the container is
frozen between invocations, so such a thread only continues when the next one arrives. The
handler's platform calls carry the same deadline, so they fail fast once it has passed.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class Overrun(Exception):
    """The work did not finish within its time."""


def run_within(work: Callable[[], T], seconds: float, *, name: str = "dailybot-handler") -> T:
    """`work()`'s result (or exception), or `Overrun` once `seconds` have passed."""
    future: Future[T] = Future()

    def target() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to the waiting thread, which re-raises it
            future.set_exception(exc)

    # In a copy of the caller's context: the delivery's log keys live in a context variable.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(target,), name=name, daemon=True).start()
    try:
        return future.result(timeout=max(seconds, 0.0))
    except TimeoutError:
        if future.done():  # the work itself raised a TimeoutError
            raise
        raise Overrun from None
