"""Sending a recorded delivery again, from the inspector.

- **As it was** is Dailybot's redelivery: the same body, so the command's ledger identifies it
  as the delivery it already ran and answers from there. The exact bytes are sent while the
  emulator that first sent them runs; after a restart (the emulator never writes an exchange
  token to disk) the same body goes with a fresh token for the same user, which the ledger
  still identifies as the same delivery, since a delivery's identity leaves the token out.
- **Edited** is a new delivery: the body as edited, with a fresh exchange token and a new
  ``event_timestamp``, so it has an identity of its own and runs.

Both go to the original URL with the command's signature and are recorded as runs naming the
delivery they replay.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.deliveries import DeliveryOutcome
from emulator.errors import coded, invalid, not_found
from emulator.runs import Outbound, run_row
from emulator.state import EmulatorState
from emulator.timestamps import iso_z
from emulator.tokens import TokenGrant

AS_IT_WAS = "as_it_was"
EDITED = "edited"
MODES = (AS_IT_WAS, EDITED)


async def replay(
    state: EmulatorState, delivery_id: str, mode: str, edited: dict[str, Any] | None
) -> DeliveryOutcome:
    row = run_row(state.database, delivery_id)
    if row is None:
        raise not_found()
    command = state.world.commands.get(row["command_uuid"] or "")
    if command is None:
        raise coded(409, "The delivery names no command of the fixtures.", "cannot_replay")
    original = json.loads(row["body"])
    acts_as = row["acts_as"]
    content = None
    if mode == AS_IT_WAS:
        body = original
        content = state.dispatcher.sent.get(delivery_id)
    else:
        if edited is None:
            raise invalid("'body' (the edited delivery) is required to replay it edited.")
        body = dict(edited)
        body["event_timestamp"] = iso_z(state.stamps.next(state.clock.now()))
        user = state.world.users.get(str(body.get("user_uuid")))
        acts_as = user.uuid if user is not None else acts_as
    if content is None and "exchange_token" in body:
        body = {**body, "exchange_token": _fresh_token(state, row, acts_as)}
    return await state.dispatcher.deliver(
        Outbound(
            row["kind"],
            _subject(row["kind"], body, row["subject"]),
            row["url"],
            command.signature,
            body,
            replay_of=delivery_id,
            replay_mode=mode,
            content=content,
            acts_as=acts_as,
        )
    )


def _fresh_token(state: EmulatorState, row: Any, acts_as: str | None) -> str:
    organization = row["organization_uuid"]
    user = state.world.users.get(acts_as or "")
    if user is None:
        members = state.world.users_of(organization)
        if not members:
            raise coded(409, "Nobody in the organization to act as.", "cannot_replay")
        user = members[0]
    return state.tokens.issue(TokenGrant(user.organization_uuid, row["command_uuid"], user.uuid))


def _subject(kind: str, body: dict[str, Any], fallback: str) -> str:
    """What an edited body delivers: its intent, event or schedule name."""
    if kind == "invocation" and isinstance(body.get("intent"), str):
        return str(body["intent"])
    if kind == "event" and isinstance(body.get("event"), str):
        return str(body["event"])
    execution = body.get("scheduled_execution")
    if isinstance(execution, dict) and isinstance(execution.get("name"), str):
        return str(execution["name"])
    return fallback
