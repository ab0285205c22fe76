"""The only runtime module that knows Chalice: request in, response out, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Final

from chalice.app import Chalice, Request, Response

from chalicelib.runtime.intake.http import IncomingRequest, OutgoingResponse

# Any content type: a delivery with an odd one must reach the intake, not a Chalice 415.
DELIVERY_CONTENT_TYPES: Final = ["application/json", "text/plain", "*/*"]

# `app.current_request` is one attribute shared by every thread, and `chalice local` serves
# requests in threads: a second delivery could replace it before the first route reads it.
# Chalice hands each middleware call its own request, which is kept here for the route.
_this_request: ContextVar[Request | None] = ContextVar("dailybot_request", default=None)


def keep_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: makes this call's own request the one `current_request` answers."""
    token = _this_request.set(event)
    try:
        return get_response(event)
    finally:
        _this_request.reset(token)


def current_request(app: Chalice) -> Request:
    """The request of the call being served (the app's attribute only outside middleware)."""
    request = _this_request.get() or app.current_request
    if request is None:
        raise RuntimeError("no request is being served")
    return request


def incoming_request(request: Request) -> IncomingRequest:
    """The delivery as our own frozen value: raw body bytes and lower-cased headers."""
    raw = request.raw_body
    return IncomingRequest.of(raw if isinstance(raw, bytes) else b"", dict(request.headers))


def chalice_response(response: OutgoingResponse) -> Response:
    return Response(
        body=dict(response.body),
        status_code=response.status,
        headers={**response.headers, "Content-Type": "application/json"},
    )
