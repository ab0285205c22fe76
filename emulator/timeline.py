"""The conversation as a timeline: each invocation, event or scheduled execution with what it
caused, built from the emulator's records.

An *item* is one thing that happened where a user would see it:

- ``invocation`` / ``scheduled_execution`` (and a replay of any delivery): one run, its reply,
  its attempts, and under it the follow-up messages and platform calls that carried its
  correlation id, each labelled with the job that made it;
- ``event``: an event published, with the run of every hook it reached (none is a result too);
- ``refused``: a command typed that no command could take (unknown intent, wrong user);
- ``message``: a follow-up that names no delivery the emulator knows (sent with only an API key,
  from an older session, or by a runtime that sends no correlation id).

Items carry ``seq`` (their order), ``organization_uuid`` and ``audience`` (the users whose
conversation shows them; ``None`` for everyone in the organization).
"""

from __future__ import annotations

import json
from typing import Any

from emulator.database import Database, Row
from emulator.deliveries import recorded_reply
from emulator.occurrences import occurrence_row
from emulator.platform_calls import call_view
from emulator.runs import attempts_of, first_run_with, run_row, stored_json
from emulator.sent_messages import message_view
from emulator.timestamps import iso_z

MAX_CALLS_SHOWN = 100
MAX_BODY_SHOWN = 64 * 1024
DEFAULT_ITEMS = 200


def run_view(database: Database, row: Row) -> dict[str, Any]:
    """One delivery with its attempts and, when it is the first to answer with its
    correlation id, the follow-ups and platform calls carrying that id."""
    attempts = attempts_of(database, row["delivery_id"])
    last = attempts[-1] if attempts else None
    view: dict[str, Any] = {
        "delivery_id": row["delivery_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "subject": row["subject"],
        "organization_uuid": row["organization_uuid"],
        "command_uuid": row["command_uuid"],
        "user_uuid": row["user_uuid"],
        "url": row["url"],
        "occurrence_id": row["occurrence_id"],
        "replay_of": row["replay_of"],
        "replay_mode": row["replay_mode"],
        "started_at": iso_z(row["started_at"]),
        "pending": row["finished_wall"] is None,
        "duration_ms": _duration(row),
        "status": None if last is None else last["status"],
        "error": None if last is None else last["error"],
        "reply": None if last is None else recorded_reply(last["reply"], last["status"]),
        "attempts": [_attempt(a) for a in attempts],
        "correlation_id": row["correlation_id"],
        "body_sha256": row["body_sha256"],
        **_body(row["body"]),
    }
    view.update(_caused(database, row))
    return view


def _duration(row: Row) -> float | None:
    if row["finished_wall"] is None:
        return None
    return round((float(row["finished_wall"]) - float(row["started_wall"])) * 1000, 3)


def _attempt(row: Row) -> dict[str, Any]:
    return {
        "attempt": row["attempt"],
        "status": row["status"],
        "error": row["error"],
        "latency_ms": row["latency_ms"],
        "at": iso_z(row["at"]),
    }


def _body(text: str) -> dict[str, Any]:
    if len(text) > MAX_BODY_SHOWN:
        return {"body": None, "body_truncated": True}
    body = json.loads(text)
    return {"body": body, "body_truncated": False, "query": body.get("query")}


def _caused(database: Database, row: Row) -> dict[str, Any]:
    """The follow-ups and calls this run caused, timed from its start; a later run answered
    with the same id names the first (``answered_like``)."""
    none: dict[str, Any] = {"follow_ups": [], "calls": [], "calls_total": 0, "answered_like": None}
    correlation = row["correlation_id"]
    if correlation is None:
        return none
    first = first_run_with(database, correlation)
    if first is not None and first["delivery_id"] != row["delivery_id"]:
        return {**none, "answered_like": first["delivery_id"]}
    start = row["started_wall"]
    messages = database.all(
        "SELECT * FROM messages WHERE correlation_id = ? ORDER BY seq", (correlation,)
    )
    calls = database.all(
        "SELECT * FROM api_calls WHERE correlation_id = ? ORDER BY seq LIMIT ?",
        (correlation, MAX_CALLS_SHOWN),
    )
    total = database.one(
        "SELECT COUNT(*) AS n FROM api_calls WHERE correlation_id = ?", (correlation,)
    )
    return {
        "follow_ups": [
            {**message_view(m), "offset_ms": _offset(m["wall"], start)} for m in messages
        ],
        "calls": [{**call_view(c), "offset_ms": _offset(c["wall"], start)} for c in calls],
        "calls_total": 0 if total is None else int(total["n"]),
        "answered_like": None,
    }


def _offset(wall: float | None, start: float) -> float | None:
    return None if wall is None else round((wall - start) * 1000, 3)


def _audience(user_uuid: str | None, runs: list[dict[str, Any]]) -> list[str] | None:
    """Whose conversation shows an item: its user and whoever its follow-ups went to."""
    if user_uuid is None:
        return None
    users = [user_uuid]
    for run in runs:
        for message in run["follow_ups"]:
            users += [u for u in message.get("target_users", []) if u not in users]
    return users


def item_for_run(database: Database, delivery_id: str) -> dict[str, Any] | None:
    """The item a delivery belongs to: its own, or its event's."""
    row = run_row(database, delivery_id)
    if row is None:
        return None
    if row["occurrence_id"] is not None:
        return item_for_occurrence(database, int(row["occurrence_id"]))
    run = run_view(database, row)
    replay = None
    if row["replay_of"] is not None:
        replay = {"of": row["replay_of"], "mode": row["replay_mode"]}
    return {
        "id": f"run:{delivery_id}",
        "kind": row["kind"],
        "seq": row["seq"],
        "at": run["started_at"],
        "organization_uuid": row["organization_uuid"],
        "user_uuid": row["user_uuid"],
        "audience": _audience(row["user_uuid"], [run]),
        "subject": row["subject"],
        "replay": replay,
        "runs": [run],
    }


def item_for_occurrence(database: Database, occurrence_id: int) -> dict[str, Any] | None:
    row = occurrence_row(database, occurrence_id)
    if row is None:
        return None
    runs = [
        run_view(database, r)
        for r in database.all(
            "SELECT * FROM runs WHERE occurrence_id = ? ORDER BY seq", (occurrence_id,)
        )
    ]
    return {
        "id": f"occurrence:{occurrence_id}",
        "kind": row["kind"],
        "seq": row["seq"],
        "at": iso_z(row["at"]),
        "organization_uuid": row["organization_uuid"],
        "user_uuid": row["user_uuid"],
        "audience": None if row["kind"] == "event" else _audience(row["user_uuid"], runs),
        "subject": row["subject"],
        "body": json.loads(row["body"]),
        "outcome": stored_json(row["outcome"]),
        "replay": None,
        "runs": runs,
    }


def item_for_message(database: Database, message_id: int) -> dict[str, Any] | None:
    """The item of an unlinked follow-up; ``None`` when a delivery claims it."""
    row = database.one("SELECT * FROM messages WHERE id = ?", (message_id,))
    if row is None:
        return None
    if row["correlation_id"] is not None and first_run_with(database, row["correlation_id"]):
        return None
    message = message_view(row)
    targets = message.get("target_users")
    return {
        "id": f"message:{message_id}",
        "kind": "message",
        "seq": row["seq"],
        "at": message["created_at"],
        "organization_uuid": row["organization_uuid"],
        "user_uuid": row["user_uuid"],
        "audience": list(targets) if targets else None,
        "subject": message["job"],
        "replay": None,
        "runs": [],
        "message": message,
    }


def item_owning(database: Database, correlation_id: str | None) -> dict[str, Any] | None:
    """The item of the first delivery answered with ``correlation_id``, if any."""
    if correlation_id is None:
        return None
    first = first_run_with(database, correlation_id)
    return None if first is None else item_for_run(database, first["delivery_id"])


def visible_to(item: dict[str, Any], organization_uuid: str | None, user_uuid: str | None) -> bool:
    if organization_uuid is not None and item["organization_uuid"] != organization_uuid:
        return False
    audience = item["audience"]
    return user_uuid is None or audience is None or user_uuid in audience


def timeline(
    database: Database,
    *,
    organization_uuid: str | None = None,
    user_uuid: str | None = None,
    after: int = 0,
    before: int | None = None,
    limit: int = DEFAULT_ITEMS,
) -> tuple[list[dict[str, Any]], int | None]:
    """The newest ``limit`` items with ``after < seq < before`` that ``user_uuid`` of
    ``organization_uuid`` sees (everyone's when not given), oldest first, and the ``before``
    that reads the ones earlier still (``None`` when there are none)."""
    scanned = limit * 4
    rows = database.all(
        "SELECT * FROM ("
        " SELECT 'run' AS what, delivery_id AS ref, seq, organization_uuid FROM runs"
        "  WHERE occurrence_id IS NULL"
        " UNION ALL SELECT 'occurrence', id, seq, organization_uuid FROM occurrences"
        " UNION ALL SELECT 'message', id, seq, organization_uuid FROM messages m"
        "  WHERE correlation_id IS NULL OR NOT EXISTS"
        "   (SELECT 1 FROM runs r WHERE r.correlation_id = m.correlation_id)"
        ") WHERE seq > ? AND seq < ? AND (? IS NULL OR organization_uuid = ?)"
        " ORDER BY seq DESC LIMIT ?",
        (after, before or 2**62, organization_uuid, organization_uuid, scanned),
    )
    items: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        item = _item(database, row["what"], row["ref"])
        if item is not None and visible_to(item, organization_uuid, user_uuid):
            items.append(item)
        if len(items) == limit:
            more = index + 1 < len(rows) or len(rows) == scanned
            return items[::-1], int(row["seq"]) if more else None
    earlier = int(rows[-1]["seq"]) if len(rows) == scanned else None
    return items[::-1], earlier


def _item(database: Database, what: str, ref: Any) -> dict[str, Any] | None:
    if what == "run":
        return item_for_run(database, str(ref))
    if what == "occurrence":
        return item_for_occurrence(database, int(ref))
    return item_for_message(database, int(ref))


def item_by_id(database: Database, item_id: str) -> dict[str, Any] | None:
    """An item by its id (``run:…``, ``occurrence:…``, ``message:…``)."""
    what, _, ref = item_id.partition(":")
    if what == "run" and ref:
        return item_for_run(database, ref)
    if what in ("occurrence", "message") and ref.isdigit():
        return _item(database, what, int(ref))
    return None
