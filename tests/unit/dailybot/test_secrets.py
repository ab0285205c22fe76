"""The API key and exchange tokens never show in reprs, error messages, tracebacks or logs."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.models import ExchangeTokenGrant, OutgoingMessage, ScheduleSpec
from chalicelib.dailybot.retry import RetryPolicy, no_jitter
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import (
    API_KEY,
    EXCHANGE_TOKEN,
    FakeClock,
    FakeSleep,
    ScriptedPlatform,
    answer,
)

SECRETS = (API_KEY, EXCHANGE_TOKEN)
TOKEN = Secret(EXCHANGE_TOKEN)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_client_repr_shows_the_base_url_only(client: DailybotClient) -> None:
    assert repr(client) == "DailybotClient(base_url='https://api.test/v1/')"
    assert_no_secret(repr(client.__dict__.get("_policy")))


def test_grant_repr_hides_the_token() -> None:
    grant = ExchangeTokenGrant(token=TOKEN, user_context={"name": "Jane"})
    assert_no_secret(repr(grant))
    assert_no_secret(str(grant))


FAILURES: list[Any] = [
    answer(400, {"detail": "Bad.", "code": "missing_context"}),
    answer(400, {"details": "Validation error message"}),
    answer(401, {"detail": "Invalid or expired exchange token.", "code": "invalid_token"}),
    answer(403, {"detail": "Forbidden"}),
    answer(404, {"detail": "Not found.", "code": "not_found"}),
    answer(406, {"detail": 'Could not find the user related to "user_uuid"'}),
    answer(429, {"detail": "slow"}, headers=[("Retry-After", "1")]),
    answer(429, {"detail": "limit", "code": "free_plan_daily_limit_exceeded"}),
    httpx.Response(502, text="<html>Bad Gateway</html>"),
    # A platform that echoes what it got must not make the client repeat it.
    answer(400, {"detail": f"bad key {API_KEY} and token {EXCHANGE_TOKEN}"}),
    answer(200, ["not", "an object"]),
    httpx.Response(200, text="not json"),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("timed out"),
    httpx.RemoteProtocolError("disconnected"),
]

CALLS: list[Callable[[DailybotClient], Any]] = [
    lambda c: c.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN),
    lambda c: c.storage_get("k", exchange_token=TOKEN),
    lambda c: c.send_message(OutgoingMessage("hi"), exchange_token=TOKEN),
]


@pytest.mark.parametrize("call", CALLS, ids=["create", "storage", "send-message"])
@pytest.mark.parametrize("failure", FAILURES)
def test_errors_never_carry_secrets(
    client: DailybotClient, platform: ScriptedPlatform, call: Any, failure: Any
) -> None:
    platform.script(failure)

    try:
        call(client)
    except errors.DailybotError as raised:
        error = raised
    else:
        # send-message ignores the body of a 2xx: nothing failed, nothing to check.
        assert isinstance(failure, httpx.Response)
        assert failure.is_success
        return
    assert_no_secret(str(error))
    assert_no_secret(repr(error))
    assert_no_secret("".join(traceback.format_exception(error)))
    if isinstance(error, errors.APIError):
        assert_no_secret(json.dumps([error.detail, error.details]))


def test_the_clients_retry_logs_carry_no_secrets(
    client: DailybotClient, platform: ScriptedPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    platform.script(answer(503, {}), answer(200, {"k": 1}))

    with caplog.at_level(logging.DEBUG):
        client.storage_get("k", exchange_token=TOKEN)

    assert any(r.name == "chalicelib.dailybot.client" for r in caplog.records)
    assert_no_secret(caplog.text)
    for record in caplog.records:
        assert_no_secret(repr(record.__dict__))


class _JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"k": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    # Loopback only: httpcore (the real transport) logs nothing through a MockTransport.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JSONHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/"
    finally:
        server.shutdown()
        server.server_close()


def test_httpcore_debug_logs_carry_no_secrets(
    loopback_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.DEBUG),
        DailybotClient(
            base_url=loopback_server,
            api_key=Secret(API_KEY),
            retry_policy=RetryPolicy(jitter=no_jitter),
            sleep=FakeSleep(clock),
            clock=clock,
        ) as client,
    ):
        assert client.storage_get("k", exchange_token=TOKEN) == 1

    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert_no_secret(caplog.text)
