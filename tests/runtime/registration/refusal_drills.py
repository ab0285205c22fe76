"""Command modules' declarations for the `make run` drill: one the platform refuses, among
valid ones (loaded with `DAILYBOT_EXTRA_COMMANDS`).

`refusal-drill-strict` passes the runtime's checks and is then changed behind their back to a cron
that never fires: what a platform stricter than the runtime's checks would refuse.
"""

from __future__ import annotations

from chalicelib.runtime import Context, scheduled
from chalicelib.runtime.registry import registry


@scheduled("refusal-drill-hourly", execution_frequency=60)
def hourly_check(ctx: Context) -> None:
    """Runs every hour"""


@scheduled("refusal-drill-strict", cron="0 9 * * *")
def strict_platform(ctx: Context) -> None:
    """Declared; refused by the platform"""


(_strict,) = [d for d in registry.declared_schedules() if d.name == "refusal-drill-strict"]
object.__setattr__(_strict, "cron", "0 0 31 2 *")
