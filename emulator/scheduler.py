"""Firing scheduled executions when they fall due, in order of their fire times.

Under the virtual clock this runs inside ``POST /_emulator/clock/advance``: the clock steps to
each fire time before the delivery. Under the real clock a background loop checks every tick.
"""

from __future__ import annotations

import asyncio
import logging

from emulator.clock import VirtualClock
from emulator.command_calls import fire_schedule
from emulator.schedules import Schedule, next_fire_after
from emulator.state import EmulatorState
from emulator.state_views import announce_schedule
from emulator.timestamps import iso_z

MAX_FIRINGS_PER_PASS = 10_000

logger = logging.getLogger("emulator.scheduler")


async def fire_due(state: EmulatorState, until: float) -> int:
    """Fire everything due up to ``until``; answers how many executions were delivered."""
    fired = 0
    passes = 0
    async with state.fire_lock:
        while passes < MAX_FIRINGS_PER_PASS:
            passes += 1
            row = state.database.one(
                "SELECT * FROM schedules WHERE is_active = 1 AND next_fire_at IS NOT NULL"
                " AND next_fire_at <= ? ORDER BY next_fire_at, created_at, uuid LIMIT 1",
                (until,),
            )
            if row is None:
                break
            schedule = Schedule.from_row(row)
            fire_at = float(row["next_fire_at"])
            move_clock(state, fire_at)
            _advance(state, schedule, fire_at)
            if await fire_schedule(state, schedule, fire_at) is not None:
                fired += 1
        else:
            logger.warning("stopped after %d firings in one pass", passes)
            return fired
        move_clock(state, until)
    return fired


def move_clock(state: EmulatorState, instant: float) -> None:
    """Move the virtual clock (the real one moves by itself) and tell the change feed."""
    if isinstance(state.clock, VirtualClock) and instant > state.clock.now():
        state.clock.move_to(instant)
        state.announcer.value("clock", {"now": iso_z(instant), "clock": "virtual"})


def _advance(state: EmulatorState, schedule: Schedule, fire_at: float) -> None:
    """Count the run and work out the next one before delivering, so a slow command can't
    make the same occurrence fire twice."""
    schedule.executions += 1
    if schedule.repeats != -1 and schedule.executions >= schedule.repeats:
        schedule.is_active = False
    # The real clock skips occurrences missed while the emulator was down; the virtual one
    # fires every occurrence it passes over.
    base = fire_at if state.clock.is_virtual else max(fire_at, state.clock.now())
    schedule.next_fire_at = next_fire_after(schedule, base, state.world)
    schedule.save(state.database)
    announce_schedule(state, schedule)


async def run_real_clock(state: EmulatorState) -> None:
    """Background loop for ``--clock real``: fire whatever is due, every tick."""
    while True:
        try:
            await fire_due(state, state.clock.now())
        except Exception:
            logger.exception("scheduler pass failed")
        await asyncio.sleep(state.config.scheduler_tick)
