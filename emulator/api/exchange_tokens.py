"""``/v1/auth/fetch-command-exchange-token/``: a user's exchange token for the key's command."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller
from emulator.errors import ApiError, invalid, permission_denied
from emulator.outbound_bodies import user_context
from emulator.state import EmulatorState
from emulator.tokens import TokenGrant
from emulator.validation import MISSING, boolean, json_object, uuid_text
from emulator.world import FETCH_TOKEN_SCOPE


async def fetch_exchange_token(request: Request, state: EmulatorState, caller: Caller) -> Response:
    if FETCH_TOKEN_SCOPE not in caller.key.scopes:
        raise permission_denied()
    body = await json_object(request)
    if body.get("user_uuid") is None:
        raise invalid("'user_uuid' is required.")
    user_uuid = uuid_text(body["user_uuid"])
    if user_uuid is None:
        raise invalid("'user_uuid' must be a UUID.")
    include_context = boolean(body, "include_user_context")
    user = state.world.users.get(user_uuid)
    if user is None:
        raise ApiError(406, {"detail": 'Could not find the user related to "user_uuid"'})
    command = state.world.commands[caller.key.command_uuid]
    if user.organization_uuid != command.organization_uuid and not command.is_public:
        raise ApiError(
            406,
            {
                "detail": "Command is not Public and cannot request exchange tokens of "
                "non-same-org users"
            },
        )
    token = state.tokens.issue(TokenGrant(user.organization_uuid, command.uuid, user.uuid))
    answer: dict[str, Any] = {"token": token}
    if include_context not in (MISSING, False):
        answer["user_context"] = user_context(user)
    return JSONResponse(answer)
