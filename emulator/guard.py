"""Safe on a laptop: who may talk to the emulator, checked before any route runs.

- Every request (the platform API included) must name the emulator in its ``Host``: a
  loopback name with the port it was reached on, or one of ``EmulatorConfig.allowed_hosts``.
  A page that rebinds its own DNS name to 127.0.0.1 still sends its own name, and is refused.
- The control API and the playground refuse a request whose ``Origin`` is not the emulator's
  own, and ``/_emulator/`` refuses what a browser marks as sent from another site.
- A state-changing control call (``POST``, ``PUT``, ``PATCH``) must be
  ``Content-Type: application/json``, which a cross-origin page cannot send without a CORS
  preflight the emulator never grants; a ``DELETE`` may have no body, but one it carries must
  be JSON too.

The platform API (``/v1/``) is not subject to the ``Origin`` and content-type checks: the runtime
calls it without an ``Origin``, and its own validation answers bad bodies. Refusals are JSON
``{"code", "message"}`` with 403 or 415.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CONTROL_PREFIX = "/_emulator/"
PLATFORM_PREFIX = "/v1/"
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH"})
FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def loopback_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values naming the loopback address on ``port``."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # a client leaves the default port out of `Host`
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


class LocalOnly:
    """ASGI middleware refusing foreign hosts, foreign origins and non-JSON control writes."""

    def __init__(self, app: ASGIApp, *, port: int, extra_hosts: Iterable[str] = ()) -> None:
        self._app = app
        self._port = port
        self._extra = frozenset(host.lower() for host in extra_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self._app(scope, receive, send)
            return
        status, code, message = refusal
        body = json.dumps({"code": code, "message": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def allowed_hosts(self, scope: Scope) -> frozenset[str]:
        server = scope.get("server")
        port = server[1] if server and server[1] else self._port
        return loopback_hosts(int(port)) | self._extra

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if host not in self.allowed_hosts(scope):
            return (
                403,
                "host_not_allowed",
                "The emulator answers only requests addressed to it by a loopback name "
                "(127.0.0.1, localhost or [::1]) and its port.",
            )
        path: str = scope["path"]
        if path.startswith(PLATFORM_PREFIX):
            return None
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host}":
            return 403, "origin_not_allowed", "Only the emulator's own pages may call it."
        if not path.startswith(CONTROL_PREFIX):
            return None
        if headers.get("sec-fetch-site") in FOREIGN_SITES:
            return 403, "cross_site_request", "Only the emulator's own pages may call it."
        return _content_type_refusal(scope["method"], headers)


def _content_type_refusal(method: str, headers: Headers) -> tuple[int, str, str] | None:
    content_type = headers.get("content-type")
    if content_type is None and method == "DELETE" and _without_body(headers):
        return None
    if method in CHANGING_METHODS or method == "DELETE":
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return (
                415,
                "json_required",
                "Control calls that change the state need 'Content-Type: application/json'.",
            )
    return None


def _without_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers
