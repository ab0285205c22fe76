"""A point in time that every platform call of one delivery must finish by.

Dailybot waits ten seconds for a reply; the runtime turns that into a `Deadline` and hands it
to each call, so timeouts and retry waits shrink as the budget is spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """An absolute moment on `clock` (monotonic seconds by default)."""

    at: float
    clock: Clock = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(at=clock() + seconds, clock=clock)

    @classmethod
    def never(cls) -> Deadline:
        """No deadline (command-line tools, background work)."""
        return cls(at=float("inf"))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def shortened(self, seconds: float) -> Deadline:
        """A deadline `seconds` earlier than this one (to keep time back for a reply)."""
        return Deadline(at=self.at - seconds, clock=self.clock)

    def capped(self, seconds: float) -> Deadline:
        """This deadline, or `seconds` from now if that comes sooner."""
        return Deadline(at=min(self.at, self.clock() + seconds), clock=self.clock)
