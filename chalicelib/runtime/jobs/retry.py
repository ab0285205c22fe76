"""When a failing job runs again: attempts and the exponential backoff between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_DELAY_SECONDS: Final = 12 * 3600
"""SQS cannot hide a message for longer (its visibility timeout's maximum)."""


@dataclass(frozen=True)
class RetrySchedule:
    """`attempts` runs at most; the wait after attempt n is `base * 2**(n-1)`, capped."""

    attempts: int = 3
    base_seconds: float = 10.0
    max_seconds: float = MAX_DELAY_SECONDS

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a job runs at least once")

    def is_last(self, attempt: int) -> bool:
        return attempt >= self.attempts

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait before the attempt after `attempt` (1-based)."""
        return float(min(self.base_seconds * 2.0 ** max(attempt - 1, 0), self.max_seconds))
