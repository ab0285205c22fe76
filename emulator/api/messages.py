"""``/v1/send-message/``: follow-up messages, recorded for ``GET /_emulator/messages``.

The exchange token may come in the body (``exchange_token``) or the ``X-EXCHANGE-TOKEN`` header.
Without any target the message goes to the token's user. The correlation headers the request
carried (``emulator.correlation``) are kept with the message: they place it under the delivery
and the job that sent it.
"""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller, resolve_grant
from emulator.correlation import from_headers
from emulator.errors import invalid
from emulator.state import EmulatorState
from emulator.validation import MISSING, json_object, string_list, text

TARGETS = ("target_users", "target_channels", "target_teams")
MAX_MESSAGE_LENGTH = 40_000


async def send_message(request: Request, state: EmulatorState, caller: Caller) -> Response:
    body = await json_object(request)
    grant = caller.grant or resolve_grant(state, caller.key, body.get("exchange_token"))
    message = text(body, "message", required=True, max_length=MAX_MESSAGE_LENGTH)
    targets = {name: string_list(body, name) for name in TARGETS}
    targets = {name: value for name, value in targets.items() if value not in (MISSING, [])}
    if not targets:
        if grant is None:
            raise invalid("Give 'target_users', 'target_channels' or 'target_teams'.")
        targets = {"target_users": [grant.user_uuid]}
    image_url = text(body, "image_url", nullable=True, max_length=2048)
    buttons = body.get("buttons", [])
    if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
        raise invalid("'buttons' must be a list of objects.")
    record = {
        "message": message,
        "image_url": None if image_url is MISSING else image_url,
        "buttons": buttons,
        **targets,
    }
    correlation = from_headers(request.headers)
    message_id = state.database.insert(
        "INSERT INTO messages (organization_uuid, command_uuid, user_uuid, payload, created_at,"
        " seq, correlation_id, job, job_id, wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            grant.organization_uuid if grant else caller.key.organization_uuid,
            grant.command_uuid if grant else caller.key.command_uuid,
            grant.user_uuid if grant else None,
            json.dumps(record),
            state.clock.now(),
            state.database.next_seq(),
            correlation.correlation_id,
            correlation.job,
            correlation.job_id,
            time.time(),
        ),
    )
    state.announcer.message(message_id)
    return JSONResponse({"id": message_id, "status": "sent"})
