"""The only runtime module that knows Chalice: request in, response out, nothing else."""

from __future__ import annotations

from typing import Final

from chalice.app import Request, Response

from chalicelib.runtime.wire import IncomingRequest, OutgoingResponse

# Any content type: a delivery with an odd one must reach the intake, not a Chalice 415.
DELIVERY_CONTENT_TYPES: Final = ["application/json", "text/plain", "*/*"]


def incoming_request(request: Request) -> IncomingRequest:
    """The delivery as our own frozen value: raw body bytes and lower-cased headers."""
    raw = request.raw_body
    return IncomingRequest.of(raw if isinstance(raw, bytes) else b"", dict(request.headers))


def chalice_response(response: OutgoingResponse) -> Response:
    return Response(
        body=dict(response.body),
        status_code=response.status,
        headers={"Content-Type": "application/json"},
    )
