"""``/v1/platform/activity/``: the command's activity log (create, and list newest first).

``GET`` takes an optional ``limit``: the newest ``limit`` records, still newest first.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller
from emulator.database import Database, Row
from emulator.errors import invalid
from emulator.state import EmulatorState
from emulator.timestamps import iso_z
from emulator.validation import (
    MISSING,
    json_object,
    json_object_field,
    query_limit,
    text,
    uuid_text,
)

MAX_METADATA_BYTES = 64 * 1024


async def create_activity(request: Request, state: EmulatorState, caller: Caller) -> Response:
    grant = caller.require_grant()
    body = await json_object(request)
    category = text(body, "category", required=True)
    action = text(body, "action", required=True)
    label = text(body, "label", nullable=True, max_length=1024)
    metadata = json_object_field(body, "metadata", nullable=True)
    metadata = {} if metadata in (MISSING, None) else metadata
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise invalid("'metadata' must be at most 64 KiB of JSON.")
    user_uuid = _user(state, body, grant.organization_uuid, grant.user_uuid)
    record_id = state.database.insert(
        "INSERT INTO activity (command, organization, user, category, action, label, metadata,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            grant.command_uuid,
            grant.organization_uuid,
            user_uuid,
            category,
            action,
            None if label is MISSING else label,
            json.dumps(metadata),
            state.clock.now(),
        ),
    )
    row = state.database.one("SELECT * FROM activity WHERE id = ?", (record_id,))
    assert row is not None  # just inserted
    record = activity_record(row)
    state.announcer.value("activity", {"id": record_id, **record})
    return JSONResponse(record, status_code=201)


async def list_activity(request: Request, state: EmulatorState, caller: Caller) -> Response:
    grant = caller.require_grant()
    records = command_activity(
        state.database, grant.organization_uuid, grant.command_uuid, query_limit(request)
    )
    return JSONResponse(records)


def command_activity(
    database: Database, organization_uuid: str, command_uuid: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """A command's records in one organization, newest first (what `GET` answers)."""
    rows = database.all(
        "SELECT * FROM activity WHERE command = ? AND organization = ? ORDER BY id DESC LIMIT ?",
        (command_uuid, organization_uuid, -1 if limit is None else limit),
    )
    return [activity_record(row) for row in rows]


def _user(state: EmulatorState, body: dict[str, Any], organization_uuid: str, default: str) -> str:
    if body.get("user_uuid") is None:
        return default
    user = state.world.users.get(uuid_text(body["user_uuid"]) or "")
    if user is None or user.organization_uuid != organization_uuid:
        raise invalid("'user_uuid' must be a user of the command's organization.")
    return user.uuid


def activity_record(row: Row) -> dict[str, Any]:
    """A stored record in the seed's shape."""
    return {
        "command": row["command"],
        "organization": row["organization"],
        "user": row["user"],
        "category": row["category"],
        "action": row["action"],
        "label": row["label"],
        "metadata": json.loads(row["metadata"]),
        "created_at": iso_z(row["created_at"]),
    }
