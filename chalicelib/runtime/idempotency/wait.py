"""How long a call to the idempotency store may wait: never past the reply's deadline.

The ledger sets a limit (a monotonic instant) around one delivery's use of the store; the
stores read it before every wait (SQLite's in-process lock and busy timeout). A store that
cannot answer by then raises `StoreWaitExceeded`, which the ledger reports as unavailable, so
the reply is a 503 inside the budget instead of a late answer Dailybot has given up on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_until: ContextVar[float | None] = ContextVar("idempotency_store_wait_until", default=None)


class StoreWaitExceeded(Exception):
    """The store did not answer before the delivery's deadline."""


@contextmanager
def waits_until(instant: float | None) -> Iterator[None]:
    """Store calls in this block wait at most until `instant` (time.monotonic seconds)."""
    token = _until.set(instant)
    try:
        yield
    finally:
        _until.reset(token)


def move_limit(instant: float | None) -> None:
    """Inside a `waits_until` block: store calls from here on wait until `instant` instead.

    The block's end restores what was set before it, whatever was moved in between.
    """
    _until.set(instant)


def seconds_left(longest: float) -> float:
    """What a wait may take now: `longest`, or less when a limit is set; raises at none."""
    until = _until.get()
    if until is None:
        return longest
    left = until - time.monotonic()
    if left <= 0:
        raise StoreWaitExceeded("the delivery's deadline for the idempotency store has passed")
    return min(longest, left)
