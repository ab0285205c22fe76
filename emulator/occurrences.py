"""What happened in the conversation besides deliveries: events published, and invocations
refused before any command was called (an unknown intent, a user the command cannot serve).

An event published to no hook, or a command typed that nothing answers, still has its place in
the timeline, with what it caused (the deliveries, each a run with ``occurrence_id``) or why
nothing was caused (``outcome``).
"""

from __future__ import annotations

import json
from typing import Any

from emulator.database import Database, Row

EVENT = "event"
REFUSED = "refused"


def record_occurrence(
    database: Database,
    kind: str,
    *,
    organization_uuid: str | None,
    user_uuid: str | None,
    subject: str,
    body: dict[str, Any],
    at: float,
    outcome: dict[str, Any] | None = None,
) -> int:
    return database.insert(
        "INSERT INTO occurrences (seq, kind, organization_uuid, user_uuid, subject, body,"
        " outcome, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            database.next_seq(),
            kind,
            organization_uuid,
            user_uuid,
            subject,
            json.dumps(body, ensure_ascii=False),
            None if outcome is None else json.dumps(outcome, ensure_ascii=False),
            at,
        ),
    )


def set_outcome(database: Database, occurrence_id: int, outcome: dict[str, Any]) -> None:
    database.execute(
        "UPDATE occurrences SET outcome = ? WHERE id = ?",
        (json.dumps(outcome, ensure_ascii=False), occurrence_id),
    )


def occurrence_row(database: Database, occurrence_id: int) -> Row | None:
    return database.one("SELECT * FROM occurrences WHERE id = ?", (occurrence_id,))
