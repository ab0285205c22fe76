"""Each delivery as a whole (a *run*): what was sent, why, and how it ended.

``deliveries`` holds one row per attempt (``GET /_emulator/deliveries``); ``runs`` holds one row
per delivery: its kind and subject, who it acted as, the event or replay that caused it, when
it started and finished (wall time, for timings, since the virtual clock stands still), and the
``X-Correlation-Id`` the command answered with, which ties platform calls and follow-up
messages to it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from emulator.database import Database, Row


@dataclass(frozen=True)
class Outbound:
    """One delivery to make: what it is, where it goes, and what caused it."""

    kind: str  # invocation, event or scheduled_execution
    subject: str  # the intent as typed, the event name or the schedule name
    url: str
    signature: str = field(repr=False)  # a secret
    body: dict[str, Any] = field(repr=False)  # holds the exchange token
    occurrence_id: int | None = None  # the published event it is part of
    replay_of: str | None = None  # the delivery it replays
    replay_mode: str | None = None  # "as_it_was" or "edited"
    content: bytes | None = field(default=None, repr=False)  # exact bytes to send again
    acts_as: str | None = None  # the user its exchange token acts as


def start_run(
    database: Database,
    delivery_id: str,
    outbound: Outbound,
    *,
    shown_body: str,
    digest: str,
    at: float,
) -> None:
    body = outbound.body
    database.execute(
        "INSERT INTO runs (delivery_id, seq, kind, subject, organization_uuid, command_uuid,"
        " user_uuid, url, occurrence_id, replay_of, replay_mode, started_at, started_wall, body,"
        " body_sha256, acts_as) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery_id,
            database.next_seq(),
            outbound.kind,
            outbound.subject,
            _text(body.get("organization_uuid")),
            _text(body.get("command_uuid")),
            _text(body.get("user_uuid")),
            outbound.url,
            outbound.occurrence_id,
            outbound.replay_of,
            outbound.replay_mode,
            at,
            time.time(),
            shown_body,
            digest,
            outbound.acts_as,
        ),
    )


def finish_run(database: Database, delivery_id: str, correlation_id: str | None) -> None:
    database.execute(
        "UPDATE runs SET finished_wall = ?, correlation_id = COALESCE(?, correlation_id)"
        " WHERE delivery_id = ?",
        (time.time(), correlation_id, delivery_id),
    )


def run_row(database: Database, delivery_id: str) -> Row | None:
    return database.one("SELECT * FROM runs WHERE delivery_id = ?", (delivery_id,))


def first_run_with(database: Database, correlation_id: str) -> Row | None:
    """The earliest delivery answered with ``correlation_id``: the one its follow-ups belong
    to (a later one with the same id is a redelivery the command answered from its ledger)."""
    return database.one(
        "SELECT * FROM runs WHERE correlation_id = ? ORDER BY seq LIMIT 1", (correlation_id,)
    )


def attempts_of(database: Database, delivery_id: str) -> list[Row]:
    return database.all(
        "SELECT * FROM deliveries WHERE delivery_id = ? ORDER BY id", (delivery_id,)
    )


def stored_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
