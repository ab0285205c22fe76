"""Follow-up messages as recorded, in the shape ``GET /_emulator/messages`` lists them: who sent
them, to whom, and the correlation headers they carried."""

from __future__ import annotations

import json
from typing import Any

from emulator.database import Database, Row
from emulator.timestamps import iso_z


def message_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organization_uuid": row["organization_uuid"],
        "command_uuid": row["command_uuid"],
        "user_uuid": row["user_uuid"],
        "created_at": iso_z(row["created_at"]),
        "correlation_id": row["correlation_id"],
        "job": row["job"],
        "job_id": row["job_id"],
        **json.loads(row["payload"]),
    }


def recorded_messages(database: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """The messages, oldest first; with ``limit``, the newest ``limit`` of them."""
    rows = database.all(
        "SELECT * FROM (SELECT * FROM messages ORDER BY id DESC LIMIT ?) ORDER BY id",
        (-1 if limit is None else limit,),
    )
    return [message_view(row) for row in rows]
