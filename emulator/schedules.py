"""Scheduled executions: the stored record, its validation, and when it fires next.

Cron expressions (five fields) are read in the organization's or the owner's time zone, per
``timezone_type``; without a cron, ``execution_frequency`` is the number of minutes between runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from croniter import CroniterError, croniter

from emulator.database import Database, Row
from emulator.errors import invalid
from emulator.world import User, World

ORGANIZATION_TIMEZONE = "organization_timezone"
USER_TIMEZONE = "user_timezone"
TIMEZONE_TYPES = (ORGANIZATION_TIMEZONE, USER_TIMEZONE)
CRON_FIELDS = 5


@dataclass
class Schedule:
    uuid: str
    command_uuid: str
    organization_uuid: str
    user_uuid: str | None
    name: str
    timezone_type: str
    is_active: bool
    cron: str | None
    execution_frequency: int
    repeats: int
    payload: dict[str, Any]
    callback_url: str | None
    is_owned_by_user: bool
    executions: int
    next_fire_at: float | None
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> Schedule:
        values = dict(row)
        values["payload"] = json.loads(values["payload"])
        values["is_active"] = bool(values["is_active"])
        values["is_owned_by_user"] = bool(values["is_owned_by_user"])
        return cls(**values)

    def view(self, default_callback_url: str) -> dict[str, Any]:
        """The seed's GET shape."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "timezone_type": self.timezone_type,
            "is_active": self.is_active,
            "cron": self.cron,
            "execution_frequency": self.execution_frequency,
            "repeats": self.repeats,
            "payload": self.payload,
            "callback_url": self.callback_url or default_callback_url,
        }

    def save(self, database: Database) -> None:
        values = asdict(self)
        values["payload"] = json.dumps(self.payload)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        # Column names come from the dataclass fields, never from a request.
        database.execute(
            f"INSERT OR REPLACE INTO schedules ({columns}) VALUES ({marks})",  # noqa: S608
            tuple(values.values()),
        )


def load_schedule(database: Database, schedule_uuid: str) -> Schedule | None:
    row = database.one("SELECT * FROM schedules WHERE uuid = ?", (schedule_uuid,))
    return None if row is None else Schedule.from_row(row)


def command_schedules(database: Database, command_uuid: str) -> list[Schedule]:
    """Every scheduled execution of a command, oldest first."""
    rows = database.all(
        "SELECT * FROM schedules WHERE command_uuid = ? ORDER BY created_at, uuid",
        (command_uuid,),
    )
    return [Schedule.from_row(row) for row in rows]


def check_cron(expression: str) -> str:
    if len(expression.split()) != CRON_FIELDS or not croniter.is_valid(expression):
        raise invalid(f"'cron' is not a valid five-field cron expression: {expression!r}.")
    try:
        croniter(expression, datetime.now(tz=UTC)).get_next(datetime)
    except CroniterError as exc:
        raise invalid(f"'cron' never fires: {expression!r}.") from exc
    return expression


def check_timing(cron: str | None, execution_frequency: int) -> None:
    if cron is None and execution_frequency <= 0:
        raise invalid("Give a 'cron' expression or an 'execution_frequency' above 0 minutes.")


def check_callback_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise invalid("'callback_url' must be an http(s) URL or null.")
    if len(value) > 2048:
        raise invalid("'callback_url' must be at most 2048 characters.")
    try:
        has_host = bool(httpx.URL(value).host)
    except (httpx.InvalidURL, ValueError, TypeError):
        has_host = False
    if not has_host:
        raise invalid("'callback_url' must be an http(s) URL with a host.")
    return value


def owner_of(schedule: Schedule, world: World) -> User | None:
    """The user a firing acts as: its creator, else the organization's first user."""
    user = world.users.get(schedule.user_uuid or "")
    if user is not None:
        return user
    members = world.users_of(schedule.organization_uuid)
    return members[0] if members else None


def zone_of(schedule: Schedule, world: World) -> ZoneInfo:
    owner = owner_of(schedule, world)
    if schedule.timezone_type == USER_TIMEZONE and owner is not None:
        return ZoneInfo(owner.timezone)
    return ZoneInfo(world.organizations[schedule.organization_uuid].timezone)


def next_fire_after(schedule: Schedule, instant: float, world: World) -> float | None:
    """The first fire time strictly after ``instant``; ``None`` if it never fires again."""
    if not schedule.is_active:
        return None
    if schedule.repeats != -1 and schedule.executions >= schedule.repeats:
        return None
    if schedule.cron is not None:
        start = datetime.fromtimestamp(instant, tz=UTC).astimezone(zone_of(schedule, world))
        try:
            upcoming: datetime = croniter(schedule.cron, start).get_next(datetime)
        except CroniterError:
            return None
        return upcoming.timestamp()
    moment = datetime.fromtimestamp(instant, tz=UTC)
    return (moment + timedelta(minutes=schedule.execution_frequency)).timestamp()
