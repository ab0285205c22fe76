"""Stored values as the playground lists them: a short preview and the size of each, so a page
costs the same whether the storage holds a few bytes or 60 MB. The whole value is read on
demand, one key at a time.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.database import Database

PREVIEW_CHARACTERS = 200
DEFAULT_ENTRIES = 500
MAX_ENTRIES = 5000


def entry_view(scope: str, key: str, value: str | None) -> dict[str, Any]:
    """One key of one scope; ``value`` is the stored JSON text (``None``: deleted)."""
    kind, organization_uuid, owner = scope.split(":", 2)
    view: dict[str, Any] = {
        "scope_id": scope,
        "scope": kind,
        "organization_uuid": organization_uuid,
        "command_uuid": owner if kind == "command" else None,
        "namespace": owner if kind == "namespace" else None,
        "key": key,
    }
    if value is not None:
        view["size"] = len(value.encode("utf-8"))
        view["preview"] = value[:PREVIEW_CHARACTERS]
        view["truncated"] = len(value) > PREVIEW_CHARACTERS
    return view


def entries(
    database: Database, *, after: tuple[str, str] | None = None, limit: int = DEFAULT_ENTRIES
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """Up to ``limit`` entries after (scope, key) ``after``, in order, and where the next page
    starts (``None`` after the last). Only the previews leave the database."""
    start = after or ("", "")
    rows = database.all(
        "SELECT scope, key, substr(value, 1, ?) AS head, length(CAST(value AS BLOB)) AS size,"
        " length(value) AS characters FROM storage WHERE (scope, key) > (?, ?)"
        " ORDER BY scope, key LIMIT ?",
        (PREVIEW_CHARACTERS, start[0], start[1], limit + 1),
    )
    views = []
    for row in rows[:limit]:
        view = entry_view(row["scope"], row["key"], row["head"])
        view["size"] = row["size"]
        view["truncated"] = row["characters"] > PREVIEW_CHARACTERS
        views.append(view)
    following = (rows[limit - 1]["scope"], rows[limit - 1]["key"]) if len(rows) > limit else None
    return views, following


def stored_value(database: Database, scope: str, key: str) -> tuple[bool, Any]:
    row = database.one("SELECT value FROM storage WHERE scope = ? AND key = ?", (scope, key))
    return (False, None) if row is None else (True, json.loads(row["value"]))
