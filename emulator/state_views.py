"""Read-only views of what the emulator holds, for the playground page and for people.

``GET /_emulator/world``, ``/storage``, ``/activity``, ``/schedules`` and ``/hooks`` answer
without an API key or exchange token: looking at local state should not need credentials.
Secrets (API keys, signatures, tokens) are never part of a view.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.api.activity import activity_record
from emulator.event_names import EVENT_NAMES
from emulator.schedules import Schedule, zone_of
from emulator.state import EmulatorState
from emulator.timestamps import iso_z, to_datetime
from emulator.validation import query_limit

DEFAULT_ACTIVITY_SHOWN = 200


async def world(request: Request, state: EmulatorState) -> Response:
    """Organizations, users, commands (without their signatures) and the known event names."""
    known = state.world
    return JSONResponse(
        {
            "clock": "virtual" if state.clock.is_virtual else "real",
            "organizations": [
                {"uuid": o.uuid, "name": o.name, "timezone": o.timezone}
                for o in known.organizations.values()
            ],
            "users": [
                {
                    "uuid": u.uuid,
                    "organization_uuid": u.organization_uuid,
                    "full_name": u.full_name,
                    "timezone": u.timezone,
                }
                for u in known.users.values()
            ],
            "commands": [
                {
                    "uuid": c.uuid,
                    "organization_uuid": c.organization_uuid,
                    "intent": c.intent,
                    "aliases": list(c.aliases),
                    "url": c.url,
                    "is_public": c.is_public,
                }
                for c in known.commands.values()
            ],
            "events": list(EVENT_NAMES),
        }
    )


async def storage(request: Request, state: EmulatorState) -> Response:
    """Every stored key and value, with the scope it lives in (a command, or a namespace)."""
    entries = []
    for row in state.database.all("SELECT scope, key, value FROM storage ORDER BY scope, key"):
        kind, organization_uuid, owner = str(row["scope"]).split(":", 2)
        entries.append(
            {
                "scope": kind,
                "organization_uuid": organization_uuid,
                "command_uuid": owner if kind == "command" else None,
                "namespace": owner if kind == "namespace" else None,
                "key": row["key"],
                "value": json.loads(row["value"]),
            }
        )
    return JSONResponse(entries)


async def activity(request: Request, state: EmulatorState) -> Response:
    """Every command's activity records, newest first (``limit``, default 200)."""
    limit = query_limit(request) or DEFAULT_ACTIVITY_SHOWN
    rows = state.database.all("SELECT * FROM activity ORDER BY id DESC LIMIT ?", (limit,))
    return JSONResponse([{"id": row["id"], **activity_record(row)} for row in rows])


async def schedules(request: Request, state: EmulatorState) -> Response:
    """Every scheduled execution, soonest first, with its next fire time in its time zone."""
    rows = state.database.all(
        "SELECT * FROM schedules ORDER BY next_fire_at IS NULL, next_fire_at, created_at"
    )
    return JSONResponse([schedule_view(state, Schedule.from_row(row)) for row in rows])


def schedule_view(state: EmulatorState, schedule: Schedule) -> dict[str, Any]:
    command = state.world.commands.get(schedule.command_uuid)
    zone = zone_of(schedule, state.world) if command is not None else None
    next_fire = schedule.next_fire_at
    runs_left = None if schedule.repeats == -1 else max(0, schedule.repeats - schedule.executions)
    local: datetime | None = None
    if next_fire is not None and zone is not None:
        local = to_datetime(next_fire).astimezone(zone)
    return {
        **schedule.view(command.url if command is not None else ""),
        "command_uuid": schedule.command_uuid,
        "organization_uuid": schedule.organization_uuid,
        "user_uuid": schedule.user_uuid,
        "is_owned_by_user": schedule.is_owned_by_user,
        "executions": schedule.executions,
        "runs_left": runs_left,
        "timezone": None if zone is None else zone.key,
        "next_fire_at": None if next_fire is None else iso_z(next_fire),
        "next_fire_local": None if local is None else local.isoformat(),
    }


async def hooks(request: Request, state: EmulatorState) -> Response:
    """Every command's event hook with its subscriptions and subscribed objects."""
    return JSONResponse(
        [
            {
                "hook_uuid": row["uuid"],
                "command_uuid": row["command_uuid"],
                "organization_uuid": row["organization_uuid"],
                "user_uuid": row["user_uuid"],
                "subscriptions": json.loads(row["subscriptions"]),
                "subscribed_objects": json.loads(row["subscribed_objects"]),
            }
            for row in state.database.all("SELECT * FROM hooks ORDER BY uuid")
        ]
    )
