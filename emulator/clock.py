"""The emulator's notion of now: the real wall clock, or a virtual one that only moves on demand.

The virtual clock starts at the real time of its first run and is saved in the database, so a
restart with the same ``--db`` resumes where it stood.
"""

from __future__ import annotations

import time
from typing import Protocol

from emulator.database import Database

VIRTUAL_NOW = "virtual_now"


class Clock(Protocol):
    @property
    def is_virtual(self) -> bool: ...

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class RealClock:
    is_virtual = False

    def now(self) -> float:
        return time.time()


class VirtualClock:
    """Time stands still until ``move_to`` is called (by the clock-advance endpoint)."""

    is_virtual = True

    def __init__(self, database: Database) -> None:
        self._database = database
        saved = database.get_meta(VIRTUAL_NOW)
        self._now = float(saved) if saved is not None else float(int(time.time()))
        database.set_meta(VIRTUAL_NOW, repr(self._now))

    def now(self) -> float:
        return self._now

    def move_to(self, instant: float) -> None:
        if instant > self._now:
            self._now = instant
            self._database.set_meta(VIRTUAL_NOW, repr(instant))
