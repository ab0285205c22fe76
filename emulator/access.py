"""Who is calling the platform API: the ``X-API-KEY`` and, when sent, the exchange token.

``platform_endpoint`` wraps every ``/v1/`` handler: injected faults, authentication, the rate
limit, and turning an ``ApiError`` into its JSON answer, in that order; then it records the
call (``emulator.platform_calls``) with the correlation headers it carried. A caller that hung
up (say during an injected delay) gets nothing and leaves one log line, not a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from emulator.correlation import from_headers
from emulator.errors import ApiError, invalid_token, missing_token, not_authenticated
from emulator.platform_calls import PlatformCall, record_call
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


@dataclass
class _Seen:
    """Who made a call, as far as it got."""

    key: ApiKey | None = None
    grant: TokenGrant | None = None
    started: float = field(default_factory=time.perf_counter)


def platform_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        seen = _Seen()
        try:
            await state.faults.apply(request.url.path)
            seen.key = state.world.api_keys.get(request.headers.get(API_KEY_HEADER, ""))
            if seen.key is None:
                raise not_authenticated()
            state.rate_limiter.check(seen.key.key)
            seen.grant = resolve_grant(state, seen.key, request.headers.get(TOKEN_HEADER))
            response = await handler(request, state, Caller(seen.key, seen.grant))
        except ApiError as error:
            response = error_response(error)
        except ClientDisconnect:
            return caller_gone(request)
        await _record(request, state, seen, response)
        return response

    endpoint.__name__ = handler.__name__
    return endpoint


async def _record(request: Request, state: EmulatorState, seen: _Seen, response: Response) -> None:
    try:
        content = await request.body()
    except ClientDisconnect:
        content = b""
    correlation = from_headers(request.headers)
    key, grant = seen.key, seen.grant
    who = grant or key  # a token acts in its own organization (a public command's user)
    call = PlatformCall(
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        organization_uuid=who.organization_uuid if who is not None else None,
        command_uuid=key.command_uuid if key else None,
        user_uuid=grant.user_uuid if grant else None,
        correlation=correlation,
        request=content,
        response=bytes(response.body),
        latency_ms=round((time.perf_counter() - seen.started) * 1000, 3),
    )
    call_id = record_call(state.database, call, state.clock.now())
    state.announcer.call(call_id, correlation.correlation_id)


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
