"""``/v1/platform/event-subscription/``: one event hook per command and organization,
registered or removed.

A call acts in the organization of the token's user: a public command used by several
organizations has a hook in each. Registering again replaces the hook's subscriptions and
subscribed objects and keeps its integer uuid; the hook acts as the user whose token
registered it last.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller
from emulator.database import Database, Row
from emulator.errors import invalid
from emulator.event_names import EVENT_NAMES, normalise_event
from emulator.state import EmulatorState
from emulator.validation import MISSING, json_object, string_list


async def register_hook(request: Request, state: EmulatorState, caller: Caller) -> Response:
    grant = caller.require_grant()
    body = await json_object(request)
    subscriptions = _events(string_list(body, "subscriptions", required=True))
    objects = string_list(body, "subscribed_objects")
    objects = [] if objects is MISSING else list(dict.fromkeys(objects))
    row = state.database.one(
        "SELECT uuid FROM hooks WHERE command_uuid = ? AND organization_uuid = ?",
        (grant.command_uuid, grant.organization_uuid),
    )
    values = (
        grant.organization_uuid,
        grant.user_uuid,
        json.dumps(subscriptions),
        json.dumps(objects),
    )
    if row is None:
        hook_uuid = state.database.insert(
            "INSERT INTO hooks (organization_uuid, user_uuid, subscriptions, subscribed_objects,"
            " command_uuid) VALUES (?, ?, ?, ?, ?)",
            (*values, grant.command_uuid),
        )
    else:
        hook_uuid = int(row["uuid"])
        state.database.execute(
            "UPDATE hooks SET organization_uuid = ?, user_uuid = ?, subscriptions = ?,"
            " subscribed_objects = ? WHERE uuid = ?",
            (*values, hook_uuid),
        )
    state.announcer.views(
        "hook", lambda: hook_view(state.database, grant.command_uuid, grant.organization_uuid)
    )
    return JSONResponse({"hook_uuid": hook_uuid})


async def unregister_hook(request: Request, state: EmulatorState, caller: Caller) -> Response:
    grant = caller.require_grant()
    state.database.execute(
        "DELETE FROM hooks WHERE command_uuid = ? AND organization_uuid = ?",
        (grant.command_uuid, grant.organization_uuid),
    )
    state.announcer.value(
        "hook_removed",
        {"command_uuid": grant.command_uuid, "organization_uuid": grant.organization_uuid},
    )
    return Response(status_code=200)


def hook_row_view(row: Row) -> dict[str, Any]:
    """A hook as ``GET /_emulator/hooks`` lists it."""
    return {
        "hook_uuid": row["uuid"],
        "command_uuid": row["command_uuid"],
        "organization_uuid": row["organization_uuid"],
        "user_uuid": row["user_uuid"],
        "subscriptions": json.loads(row["subscriptions"]),
        "subscribed_objects": json.loads(row["subscribed_objects"]),
    }


def hook_view(
    database: Database, command_uuid: str, organization_uuid: str
) -> dict[str, Any] | None:
    row = database.one(
        "SELECT * FROM hooks WHERE command_uuid = ? AND organization_uuid = ?",
        (command_uuid, organization_uuid),
    )
    return None if row is None else hook_row_view(row)


def _events(names: list[str]) -> list[str]:
    if not names:
        raise invalid("'subscriptions' must name at least one event.")
    events: list[str] = []
    for name in names:
        event = normalise_event(name)
        if event is None:
            raise invalid(f"Unknown event {name!r}. Known events: {', '.join(EVENT_NAMES)}.")
        if event not in events:
            events.append(event)
    return events


def matching_hooks(
    database: Database, organization_uuid: str, event: str, subscribed_object: str | None
) -> list[Row]:
    """Hooks of the organization subscribed to ``event`` (and to the object, when they list any)."""
    matches = []
    for row in database.all(
        "SELECT * FROM hooks WHERE organization_uuid = ? ORDER BY uuid", (organization_uuid,)
    ):
        objects = json.loads(row["subscribed_objects"])
        if event not in json.loads(row["subscriptions"]):
            continue
        if objects and subscribed_object not in objects:
            continue
        matches.append(row)
    return matches
