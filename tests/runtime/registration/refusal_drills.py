"""Command modules' declarations for the `make run` drill: one the platform refuses, among
valid ones (loaded with `DAILYBOT_EXTRA_COMMANDS`).

`strict-platform` passes the runtime's checks and is then changed behind their back to a cron
that never fires: what a platform stricter than the runtime's checks would refuse.
"""

from __future__ import annotations

from chalicelib.runtime import Context, event, scheduled
from chalicelib.runtime.registry import registry


@scheduled("hourly-check", execution_frequency=60)
def hourly_check(ctx: Context) -> None:
    """Runs every hour"""


@scheduled("strict-platform", cron="0 9 * * *")
def strict_platform(ctx: Context) -> None:
    """Declared; refused by the platform"""


@event("forms.response.created")
def form_created(ctx: Context) -> None:
    """A form response"""


(_strict,) = [d for d in registry.declared_schedules() if d.name == "strict-platform"]
object.__setattr__(_strict, "cron", "0 0 31 2 *")
