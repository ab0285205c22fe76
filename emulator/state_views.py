"""Read-only views of what the emulator holds, for the playground page and for people.

``GET /_emulator/world``, ``/storage`` (and its ``/entries`` and ``/value``), ``/activity``,
``/schedules``, ``/hooks``, ``/event-examples`` and ``/state`` answer without an API key or
exchange token: looking at local state should not need credentials. Secrets (API keys,
signatures, tokens) are never part of a view.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.added_users import added_user_ids
from emulator.api.activity import activity_record
from emulator.api.event_subscription import hook_row_view
from emulator.errors import invalid, not_found
from emulator.event_examples import example_bodies
from emulator.event_names import EVENT_NAMES
from emulator.schedules import Schedule, zone_of
from emulator.state import EmulatorState, export_state
from emulator.storage_entries import DEFAULT_ENTRIES, MAX_ENTRIES, entries, stored_value
from emulator.timestamps import iso_z, to_datetime
from emulator.validation import query_limit, uuid_text

DEFAULT_ACTIVITY_SHOWN = 200


async def world(request: Request, state: EmulatorState) -> Response:
    """Organizations, users, commands (without their signatures) and the known event names."""
    known = state.world
    added = added_user_ids(state.database)
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
                    "added": u.uuid in added,
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


async def storage_entries(request: Request, state: EmulatorState) -> Response:
    """Stored keys with a preview and the size of each value, a page at a time."""
    scope = request.query_params.get("after_scope")
    key = request.query_params.get("after_key")
    limit = query_limit(request, maximum=MAX_ENTRIES) or DEFAULT_ENTRIES
    found, following = entries(
        state.database, after=(scope, key or "") if scope else None, limit=limit
    )
    more = None if following is None else {"after_scope": following[0], "after_key": following[1]}
    return JSONResponse({"entries": found, "next": more})


async def storage_value(request: Request, state: EmulatorState) -> Response:
    """One stored value, whole: ``?scope_id=...&key=...`` as the entries name them."""
    scope = request.query_params.get("scope_id", "")
    key = request.query_params.get("key", "")
    exists, value = stored_value(state.database, scope, key)
    if not exists:
        raise not_found()
    return JSONResponse({"scope_id": scope, "key": key, "value": value})


async def event_examples(request: Request, state: EmulatorState) -> Response:
    """An example body for every event, with the users of ``organization_uuid`` (or of the
    first organization) in it."""
    raw = request.query_params.get("organization_uuid")
    organization = uuid_text(raw) if raw else next(iter(state.world.organizations), None)
    if organization is None or organization not in state.world.organizations:
        raise invalid("'organization_uuid' must be a known organization.")
    return JSONResponse(example_bodies(state.world, organization, state.clock.now()))


async def whole_state(request: Request, state: EmulatorState) -> Response:
    """The whole state, as ``--export-on-exit`` writes it and ``--import`` reads it."""
    return JSONResponse(
        export_state(state),
        headers={"Content-Disposition": 'attachment; filename="emulator-state.json"'},
    )


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


def announce_schedule(state: EmulatorState, schedule: Schedule) -> None:
    """Tell the change feed about a schedule created, changed or fired."""
    state.announcer.views("schedule", lambda: schedule_view(state, schedule))


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
    rows = state.database.all("SELECT * FROM hooks ORDER BY uuid")
    return JSONResponse([hook_row_view(row) for row in rows])
