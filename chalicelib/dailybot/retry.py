"""When to repeat a failed platform call and how long to wait first: pure functions.

The client asks `should_retry` after each failed attempt and sleeps `backoff_seconds` before
the next one; neither looks at a clock or sleeps, so tests assert exact schedules.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.dailybot.errors import (
    APIError,
    ConnectError,
    DailybotError,
    DailyLimitExceeded,
    RateLimited,
    ServerError,
    TransportError,
)

Jitter = Callable[[float], float]


def equal_jitter(delay: float) -> float:
    """A wait between half of `delay` and `delay`, so concurrent callers spread out."""
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - spreading load, not crypto


def no_jitter(delay: float) -> float:
    """`delay` itself (tests and callers that want a predictable schedule)."""
    return delay


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how the waits between them grow."""

    max_attempts: int = 3
    base_delay_seconds: float = 0.2
    max_delay_seconds: float = 2.0
    # A 429 is waited out only when its Retry-After is at most this; a longer one is given
    # up at once, since a command has ten seconds in all and the wait would eat them.
    max_retry_after_seconds: float = 5.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})
    jitter: Jitter = field(default=equal_jitter, compare=False)


def should_retry(
    error: DailybotError, *, attempt: int, safe_to_repeat: bool, policy: RetryPolicy
) -> bool:
    """Whether to make attempt `attempt + 1` after `error` ended attempt `attempt` (1-based).

    `safe_to_repeat` says the request does the same thing however often it is applied (reads,
    updates, deletes, storage operations, fetching a token). A create is not: after a timeout
    or a 5xx it may already have been applied, so it is only repeated when the platform
    certainly never saw it (connection refused, or a 429 verdict).

    A 429 whose `Retry-After` asks for longer than `max_retry_after_seconds` is not retried:
    calling again sooner than asked would only be refused again, and waiting that long would
    leave the caller nothing of its budget. Whether the wait fits the caller's deadline is the
    client's check (it alone knows the time).
    """
    if attempt >= policy.max_attempts or isinstance(error, DailyLimitExceeded):
        return False
    if isinstance(error, RateLimited):
        return error.retry_after is None or error.retry_after <= policy.max_retry_after_seconds
    if isinstance(error, ConnectError):
        return True
    if isinstance(error, ServerError):
        return safe_to_repeat and error.status in policy.retry_statuses
    if isinstance(error, TransportError):
        return safe_to_repeat
    return False


def backoff_seconds(error: DailybotError, *, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait after `error` ended attempt `attempt` (1-based) before the next one.

    A `Retry-After` the platform sent wins (never jittered: it is the platform's word; one
    longer than the cap never gets here, `should_retry` refused it); otherwise the wait
    doubles from `base_delay_seconds` up to `max_delay_seconds`, jittered.
    """
    if isinstance(error, APIError) and error.retry_after is not None:
        return min(max(0.0, error.retry_after), policy.max_retry_after_seconds)
    exponential = policy.base_delay_seconds * 2 ** max(0, attempt - 1)
    return policy.jitter(min(exponential, policy.max_delay_seconds))
