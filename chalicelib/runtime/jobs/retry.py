"""When a failing job runs again: attempts and the exponential backoff between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from chalicelib.settings import MOST_JOB_ATTEMPTS, MOST_RECEIVES

MAX_DELAY_SECONDS: Final = 12 * 3600
"""SQS cannot hide a message for longer (its visibility timeout's maximum)."""
BUSY_RECEIVES: Final = MOST_RECEIVES - MOST_JOB_ATTEMPTS
"""Receives of an SQS message that found its job held by another attempt (a duplicate message,
a claim left by a crash): SQS counts them like attempts, so its redrive allows this many more."""


def receives_before_redrive(attempts: int) -> int:
    """The SQS queue's `maxReceiveCount` for `JOBS_ATTEMPTS=attempts`: the runtime dead-letters
    a job itself after its last attempt; the redrive policy only catches a message whose
    every receive crashed the function."""
    return attempts + BUSY_RECEIVES


@dataclass(frozen=True)
class RetrySchedule:
    """`attempts` runs at most; the wait after attempt n is `base * 2**(n-1)`, capped."""

    attempts: int
    base_seconds: float
    max_seconds: float = MAX_DELAY_SECONDS

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a job runs at least once")

    def is_last(self, attempt: int) -> bool:
        return attempt >= self.attempts

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait before the attempt after `attempt` (1-based)."""
        return float(min(self.base_seconds * 2.0 ** max(attempt - 1, 0), self.max_seconds))
