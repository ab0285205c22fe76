"""The two wires between the runtime and the emulator, both inside the test process.

- `PlatformWire`: a synchronous httpx transport that hands the runtime's platform calls (and
  the kit's control calls) to the emulator's Starlette app, on a short-lived event loop in
  the calling thread: no thread switch per call, which is most of what a call would cost.
- `CommandWire`: an asynchronous httpx transport the emulator sends its deliveries through;
  it hands each one to the Chalice app (its local API Gateway) in a worker thread, since the
  calling thread's loop is busy with the control call that caused the delivery.

Both record what passed (`Traffic`): the bodies with tokens hidden, and every exchange token
seen, which the kit's log audit then looks for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine, MutableMapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

from testkit.records import PlatformCall, without_tokens

T = TypeVar("T")

AppCall = Callable[[str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]
"""Posts (path, headers, body) to the command's app; answers (status, headers, body)."""


@dataclass(frozen=True)
class WireDelivery:
    """A delivery as it crossed the command wire (tokens hidden)."""

    body: Any
    status: int
    answer: Any


@dataclass
class Traffic:
    """What crossed both wires during one kit test."""

    calls: list[PlatformCall] = field(default_factory=list)
    deliveries: list[WireDelivery] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    _by_digest: dict[str, list[WireDelivery]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self, content: bytes, status: int, answer: bytes) -> WireDelivery:
        body = _json(content)
        self._remember_tokens(body)
        seen = WireDelivery(without_tokens(body), status, without_tokens(_json(answer)))
        with self._lock:
            self.deliveries.append(seen)
            self._by_digest[hashlib.sha256(content).hexdigest()].append(seen)
        return seen

    def by_digest(self) -> dict[str, list[WireDelivery]]:
        """The deliveries by the SHA-256 of their body (a redelivery's attempts, in order)."""
        with self._lock:
            return {digest: list(seen) for digest, seen in self._by_digest.items()}

    def called(self, request: httpx.Request, status: int, content: bytes) -> None:
        sent = _json(request.content)
        answered = _json(content)
        token = request.headers.get("x-exchange-token")
        if token:
            self.tokens.add(token)
        self._remember_tokens(sent)
        self._remember_tokens(answered)
        call = PlatformCall(
            request.method,
            request.url.path,
            status,
            without_tokens(sent),
            without_tokens(answered),
        )
        with self._lock:
            self.calls.append(call)

    def _remember_tokens(self, body: Any) -> None:
        if isinstance(body, dict):
            for name in ("exchange_token", "token"):
                if isinstance(body.get(name), str) and body[name]:
                    self.tokens.add(body[name])


class PlatformWire(httpx.BaseTransport):
    """Synchronous httpx transport into an ASGI app, run to completion in the calling thread.

    The emulator's handlers share nothing bound to one event loop, so each call may have a
    loop of its own (a delivery's platform calls come from other threads while the loop of
    the control call that caused it waits).
    """

    def __init__(self, app: ASGIApp, traffic: Traffic | None = None) -> None:
        self._app = app
        self._traffic = traffic

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        status, headers, body = run_to_completion(call_asgi(self._app, request, content))
        if self._traffic is not None:
            self._traffic.called(request, status, body)
        return httpx.Response(status, headers=headers, content=body, request=request)


_ELSEWHERE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="testkit-loop")


def run_to_completion(work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result, on a loop of its own in this thread, or in a helper thread when this
    thread already runs a loop (a browser test's, say) that cannot be nested."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _on_new_loop(work)
    return _ELSEWHERE.submit(_on_new_loop, work).result()


def _on_new_loop(work: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(work)
    finally:
        loop.close()


async def call_asgi(
    app: ASGIApp, request: httpx.Request, content: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP request through `app` (ASGI 3): its status, headers (without the length,
    which httpx computes from the whole body) and body."""
    url = request.url
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "server": (url.host, url.port or 80),
        "client": ("127.0.0.1", 0),
    }
    sent = False
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": content, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.extend(
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in message.get("headers", [])
                if k.lower() != b"content-length"
            )
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    try:
        await app(scope, receive, send)
    except Exception:
        # Starlette answers an unhandled error with a 500 and then raises it again.
        if not chunks:
            raise
    return status, headers, b"".join(chunks)


class CommandWire(httpx.AsyncBaseTransport):
    """Asynchronous httpx transport that hands deliveries to the command's app."""

    def __init__(self, app_call: AppCall, traffic: Traffic, workers: Executor) -> None:
        self._app_call = app_call
        self._traffic = traffic
        self._workers = workers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        headers = dict(request.headers.items())
        status, answer_headers, answer = await asyncio.get_running_loop().run_in_executor(
            self._workers, self._app_call, request.url.path, headers, content
        )
        self._traffic.delivered(content, status, answer)
        return httpx.Response(status, headers=answer_headers, content=answer, request=request)


def _json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")
