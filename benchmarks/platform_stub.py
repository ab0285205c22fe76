"""A local stand-in for the Dailybot API that takes a fixed time per call, for the benchmarks.

A small threaded HTTP/1.1 keep-alive server on 127.0.0.1 that answers what the benchmarked
commands call, in the shapes the emulator answers them: storage get/set/delete (a dictionary
kept per namespace or exchange token), activity records, exchange tokens, and the schedule and
event-hook creations of self-registration. Every answer
waits `delay_seconds` first, standing in for the internet between Lambda and Dailybot, so a
reply's latency counts the platform round trips in series before it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx

from benchmarks.threaded_server import InThread

API_PREFIX: Final = "/v1/"
_ACTIVITY: Final = "/v1/platform/activity/"
_STORAGE: Final = "/v1/platform/storage/"
_SCHEDULING: Final = "/v1/platform/scheduling/"
_SUBSCRIPTION: Final = "/v1/platform/event-subscription/"
_TOKEN: Final = "/v1/auth/fetch-command-exchange-token/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stub: PlatformStub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stub = stub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add 40 ms to each.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET", None)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        self._answer("POST", body)

    def _answer(self, method: str, body: Any) -> None:
        stub = self.server.stub
        path = self.path.split("?", 1)[0]
        token = self.headers.get("X-EXCHANGE-TOKEN")
        status, answer = stub.answers.respond(method, path, body, token)
        encoded = json.dumps(answer).encode()
        stub.wait()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PlatformAnswers:
    """What the stub answers, and how many calls of each kind it has answered."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._storage: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def respond(
        self, method: str, path: str, body: Any, exchange_token: str | None
    ) -> tuple[int, Any]:
        """(status, JSON answer) for one call, counted by `METHOD path`."""
        with self._lock:
            self.calls[f"{method} {path}"] += 1
        if not isinstance(body, dict) and method == "POST":
            return 400, {"code": "invalid", "detail": "The body must be a JSON object."}
        if path == _STORAGE and method == "POST":
            return self._storage_operation(body, exchange_token)
        if path == _ACTIVITY:
            return (201, _activity_record(body)) if method == "POST" else (200, [])
        if path == _TOKEN and method == "POST":
            return 200, {"token": "stub-exchange-token"}
        # Self-registration on a container's first delivery: created once, then remembered in
        # storage, so later cold starts find their registrations unchanged (one storage read).
        if path == _SCHEDULING and method == "POST":
            return 201, {**body, "uuid": uuid.uuid4().hex, "is_active": True}
        if path == _SUBSCRIPTION and method == "POST":
            return 201, {"hook_uuid": uuid.uuid4().hex}
        return 404, {"code": "not_found", "detail": f"{method} {path} is not served by the stub."}

    def _storage_operation(self, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
        scope = body.get("namespace") or token
        params = body.get("params")
        if scope is None or not isinstance(params, dict) or not isinstance(params.get("key"), str):
            return 400, {"code": "invalid", "detail": "A scope and 'params.key' are required."}
        place = (str(scope), params["key"])
        with self._lock:
            if body.get("op") == "get":
                return 200, {params["key"]: self._storage.get(place)}
            if body.get("op") == "set":
                self._storage[place] = params.get("value")
            else:
                self._storage.pop(place, None)
        return 200, {}

    def transport(self) -> httpx.MockTransport:
        """These answers in process, through `httpx.MockTransport`: no network time at all."""

        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content) if request.content else None
            token = request.headers.get("X-EXCHANGE-TOKEN")
            status, answer = self.respond(request.method, request.url.path, body, token)
            return httpx.Response(status, json=answer)

        return httpx.MockTransport(handle)


class PlatformStub(InThread):
    """The stub server, running in a thread of this process while used as a context manager."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.delay_seconds = delay_seconds
        self.answers = PlatformAnswers()
        self._stopped = threading.Event()
        super().__init__(_Server(self))

    @property
    def base_url(self) -> str:
        return self.origin + API_PREFIX

    def stop(self) -> None:
        self._stopped.set()
        super().stop()

    def wait(self) -> None:
        # An Event rather than time.sleep: a stopping stub answers at once.
        self._stopped.wait(self.delay_seconds)


def _activity_record(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": None,
        "organization": None,
        "user": body.get("user_uuid"),
        "category": body.get("category", ""),
        "action": body.get("action", ""),
        "label": body.get("label"),
        "metadata": body.get("metadata") or {},
        "created_at": "2026-01-01T00:00:00Z",
    }


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmarks.platform_stub [--delay SECONDS]`: the stub in a process of its
    own (its work then never competes with the measured app for the interpreter), printing
    its base URL on the first line and serving until stopped."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.platform_stub")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    with PlatformStub(args.delay) as stub:
        print(stub.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
