"""Who is calling the platform API: the ``X-API-KEY`` and, when sent, the exchange token.

``platform_endpoint`` wraps every ``/v1/`` handler: injected faults, authentication, the rate
limit, and turning an ``ApiError`` into its JSON answer, in that order. A caller that hung up
(say during an injected delay) gets nothing and leaves one log line, not a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from emulator.errors import ApiError, invalid_token, missing_token, not_authenticated
from emulator.state import EmulatorState, state_of
from emulator.tokens import TokenGrant
from emulator.world import ApiKey

API_KEY_HEADER = "X-API-KEY"
TOKEN_HEADER = "X-EXCHANGE-TOKEN"  # noqa: S105 (a header name)
CLIENT_CLOSED_REQUEST = 499  # nobody reads it: the caller is gone

logger = logging.getLogger("emulator.access")


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    grant: TokenGrant | None

    def require_grant(self) -> TokenGrant:
        if self.grant is None:
            raise missing_token()
        return self.grant


Handler = Callable[[Request, EmulatorState, Caller], Awaitable[Response]]


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


def caller_gone(request: Request) -> Response:
    logger.info(
        "%s %s: the caller hung up before its body was read", request.method, request.url.path
    )
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def platform_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        try:
            await state.faults.apply(request.url.path)
            key = state.world.api_keys.get(request.headers.get(API_KEY_HEADER, ""))
            if key is None:
                raise not_authenticated()
            state.rate_limiter.check(key.key)
            grant = resolve_grant(state, key, request.headers.get(TOKEN_HEADER))
            return await handler(request, state, Caller(key, grant))
        except ApiError as error:
            return error_response(error)
        except ClientDisconnect:
            return caller_gone(request)

    endpoint.__name__ = handler.__name__
    return endpoint


def resolve_grant(state: EmulatorState, key: ApiKey, token: object) -> TokenGrant | None:
    """The grant of a sent token; an unknown, expired or foreign token is refused (401)."""
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise invalid_token()
    grant = state.tokens.resolve(token)
    if grant is None:
        raise invalid_token()
    # A token minted for this key's command is fine even for a user of another organization
    # (public commands); otherwise the token must belong to the key's organization.
    if grant.command_uuid != key.command_uuid and grant.organization_uuid != key.organization_uuid:
        raise invalid_token()
    return grant
