"""Self-registration against the real emulator over HTTP, with every API call counted.

`start_emulator` is the emulator suite's own starter. The client under test talks to it through
`CountingTransport`, a real HTTP transport that also records each request, so a test can say
"this reconcile made one storage read and nothing else".
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.tokens import ExchangeTokenBroker, TokenSession
from chalicelib.redaction import Secret
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.idempotency.lock import IdempotencyStoreLock
from chalicelib.runtime.idempotency.sqlite_store import SQLitePersistenceLayer
from tests.emulator.emulator_process import EmulatorProcess, start_emulator

ACME = "11111111-1111-4111-8111-111111111111"
JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
ACME_COMMAND = "c0000000-0000-4000-8000-000000000001"
ACME_KEY = "local-api-key-acme-0001"
ACME_SIGNATURE = "local-signature-acme-0001"
NAMESPACE = "dailybot-runtime-tests"


@dataclass(frozen=True)
class SentRequest:
    method: str
    path: str
    body: Any

    @property
    def storage_op(self) -> str | None:
        if self.path.endswith("/platform/storage/") and isinstance(self.body, dict):
            return str(self.body.get("op"))
        return None

    @property
    def is_write(self) -> bool:
        if self.path.endswith("/auth/fetch-command-exchange-token/"):
            return False
        if self.storage_op is not None:
            return self.storage_op != "get"
        return self.method != "GET"


class CountingTransport(httpx.BaseTransport):
    """A real HTTP transport that remembers every request it sends."""

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self.sent: list[SentRequest] = []
        # "POST /v1/platform/scheduling/" -> seconds to wait before sending such a request.
        self.delays = dict(delays or {})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        body = json.loads(raw) if raw else None
        self.sent.append(SentRequest(request.method, request.url.path, body))
        pause = self.delays.get(f"{request.method} {request.url.path}")
        if pause:
            time.sleep(pause)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

    def writes(self) -> list[SentRequest]:
        return [r for r in self.sent if r.is_write]

    def clear(self) -> None:
        self.sent.clear()


@dataclass
class Platform:
    """A fresh emulator and a counted client of it, acting for Acme."""

    emulator: EmulatorProcess
    client: DailybotClient
    transport: CountingTransport

    @property
    def api_url(self) -> str:
        return f"{self.emulator.base_url}/v1/"

    def tokens(self, user_uuid: str = JANE) -> TokenSession:
        broker = ExchangeTokenBroker(self.client, ttl_seconds=900)
        return broker.session(ACME, user_uuid, delivered=None)

    def session(self, user_uuid: str = JANE, deadline: Deadline | None = None) -> PlatformSession:
        """The platform as a delivery of `user_uuid` without a token of its own uses it."""
        return PlatformSession(self.client, self.tokens(user_uuid), deadline)

    def control(self) -> httpx.Client:
        return self.emulator.client()

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """What the emulator really holds, read from its database."""
        with sqlite3.connect(self.emulator.db) as connection:
            connection.row_factory = sqlite3.Row
            return list(connection.execute(sql, params))

    def schedules_named(self, name: str) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM schedules WHERE name = ?", name)

    def hooks(self) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM hooks")


def counted_client(api_url: str, transport: httpx.BaseTransport) -> DailybotClient:
    return DailybotClient(base_url=api_url, api_key=Secret(ACME_KEY), transport=transport)


@contextmanager
def emulated_platform(tmp_path: Path, fixtures: Path | None = None) -> Iterator[Platform]:
    """The emulator (on its default fixtures unless given others) and a counted client."""
    emulator = start_emulator(tmp_path, fixtures=fixtures)
    transport = CountingTransport()
    client = counted_client(f"{emulator.base_url}/v1/", transport)
    try:
        yield Platform(emulator, client, transport)
    finally:
        client.close()
        emulator.stop()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with emulated_platform(tmp_path) as platform:
        yield platform


@pytest.fixture
def lock_store_path(tmp_path: Path) -> Path:
    return tmp_path / "idempotency.sqlite3"


def new_lock(path: Path, *, lock_seconds: int = 60) -> IdempotencyStoreLock:
    """A lock on its own layer over a shared SQLite file, as each container would have."""
    return IdempotencyStoreLock(SQLitePersistenceLayer(path), lock_seconds=lock_seconds)
