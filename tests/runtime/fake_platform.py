"""An in-test Dailybot platform behind `httpx.MockTransport`, routed by path.

Good enough to run every example command: tokens, storage, activity, scheduling, event
subscriptions, send-message. Faults and delays are injected per path.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

API_KEY = "test-api-key-0001"
DELIVERED_TOKEN = "xt-delivered-token-0001"


@dataclass
class Call:
    method: str
    path: str
    token: str | None
    body: Any
    # The read timeout httpx was given for this request (the client cuts it to the deadline).
    read_timeout: float | None = None


@dataclass
class FakePlatform:
    """State of the fake platform; `transport()` answers requests against it."""

    storage: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    activity: list[dict[str, Any]] = field(default_factory=list)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    rejected_tokens: set[str] = field(default_factory=set)
    faults: dict[str, list[int]] = field(default_factory=dict)
    # The Retry-After header an injected 429 carries, when set.
    retry_after: str | None = None
    delays: dict[str, float] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)

    def fail(self, path: str, *statuses: int, method: str = "") -> None:
        """The next calls to `path` (with `method`, if given) answer these statuses, in order."""
        self.faults[f"{method} {path}".strip()] = list(statuses)

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.path == path and (method is None or c.method == method)]

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        token = request.headers.get("x-exchange-token")
        body = json.loads(request.content) if request.content else None
        with self._lock:
            timeout = request.extensions.get("timeout", {}).get("read")
            self.calls.append(Call(request.method, path, token, body, timeout))
        if request.headers.get("x-api-key") != API_KEY:
            return httpx.Response(
                401, json={"detail": "Authentication credentials were not provided."}
            )
        if path in self.delays:
            time.sleep(self.delays[path])
        with self._lock:
            pending = self.faults.get(f"{request.method} {path}") or self.faults.get(path)
            if pending:
                status = pending.pop(0)
                throttled = status == 429 and self.retry_after is not None
                return httpx.Response(
                    status,
                    json={"detail": "injected", "code": "fault"},
                    headers={"Retry-After": self.retry_after} if throttled else None,
                )
        if token is not None and token in self.rejected_tokens:
            return httpx.Response(
                401, json={"detail": "Invalid or expired exchange token.", "code": "invalid_token"}
            )
        with self._lock:
            return self._route(request.method, path, token, body)

    def _route(self, method: str, path: str, token: str | None, body: Any) -> httpx.Response:
        if path == "auth/fetch-command-exchange-token/":
            return httpx.Response(200, json={"token": f"xt-fetched-for-{body['user_uuid']}"})
        if path == "platform/storage/":
            return self._storage(token, body)
        if path == "platform/activity/":
            if method == "GET":
                return httpx.Response(200, json=self.activity)
            record = {
                "command": "c-1",
                "organization": "org-1",
                "user": body.get("user_uuid"),
                "category": body["category"],
                "action": body["action"],
                "label": body.get("label"),
                "metadata": body.get("metadata", {}),
                "created_at": f"2026-01-01T00:00:{len(self.activity):02d}Z",
            }
            self.activity.append(record)
            return httpx.Response(201, json=record)
        if path == "platform/scheduling/":
            uuid = f"sched-{next(self._ids)}"
            self.schedules[uuid] = {"uuid": uuid, **body}
            return httpx.Response(200, json={"uuid": uuid})
        if path.startswith("platform/scheduling/"):
            return self._schedule(method, path.split("/")[2], body)
        if path == "platform/event-subscription/":
            if method == "DELETE":
                self.hooks.clear()
                return httpx.Response(200)
            self.hooks.append(body)
            return httpx.Response(200, json={"hook_uuid": 7})
        if path == "send-message/":
            self.messages.append(body)
            return httpx.Response(200, json={})
        return httpx.Response(404, json={"detail": "Not found.", "code": "not_found"})

    def _storage(self, token: str | None, body: Any) -> httpx.Response:
        scope = self.storage[body.get("namespace") or "command"]
        key = body["params"]["key"]
        if len(key) > 255:  # the platform's own validation answer
            return httpx.Response(400, json={"details": "'params.key' is longer than 255."})
        if body["op"] == "set":
            scope[key] = body["params"]["value"]
        elif body["op"] == "delete":
            scope.pop(key, None)
        elif key in scope:
            return httpx.Response(200, json={key: scope[key]})
        return httpx.Response(200, json={})

    def _schedule(self, method: str, uuid: str, body: Any) -> httpx.Response:
        if uuid not in self.schedules:
            return httpx.Response(404, json={"detail": "Not found.", "code": "not_found"})
        if method == "DELETE":
            del self.schedules[uuid]
            return httpx.Response(204)
        if method == "PUT":
            self.schedules[uuid].update(body)
        schedule = {
            "timezone_type": "organization_timezone",
            "is_active": True,
            "execution_frequency": 0,
            "repeats": -1,
            "payload": {},
            "callback_url": None,
            **self.schedules[uuid],
        }
        return httpx.Response(200, json=schedule)
