"""A clock for tests: monotonic seconds that move only when a test moves them."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that only move when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
