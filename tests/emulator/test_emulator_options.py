"""Start-up options and control endpoints: token TTL, rate limit, faults, clocks, fixtures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import DEFAULT_FIXTURES, ROOT, free_port
from emulator_world import ACME_KEY, JANE

TOKEN_PATH = "/v1/auth/fetch-command-exchange-token/"


def token_headers(http: httpx.Client) -> dict[str, str]:
    token = http.post(TOKEN_PATH, headers={"X-API-KEY": ACME_KEY}, json={"user_uuid": JANE}).json()[
        "token"
    ]
    return {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": token}


def test_tokens_expire_with_the_virtual_clock(emulator_factory: Any):
    handle = emulator_factory(extra_args=["--token-ttl", "60"])
    with handle.client() as http:
        headers = token_headers(http)
        assert http.get("/v1/platform/activity/", headers=headers).status_code == 200
        http.post("/_emulator/clock/advance", json={"seconds": 59})
        assert http.get("/v1/platform/activity/", headers=headers).status_code == 200
        http.post("/_emulator/clock/advance", json={"seconds": 1})
        expired = http.get("/v1/platform/activity/", headers=headers)
        assert expired.status_code == 401
        assert expired.json() == {
            "detail": "Invalid or expired exchange token.",
            "code": "invalid_token",
        }


def test_rate_limit_answers_429_with_retry_after(emulator_factory: Any):
    handle = emulator_factory(extra_args=["--rate-limit", "3"])
    with handle.client() as http:
        headers = {"X-API-KEY": ACME_KEY}
        body = {"op": "get", "namespace": "n", "params": {"key": "k"}}
        for _ in range(3):
            assert http.post("/v1/platform/storage/", headers=headers, json=body).is_success
        limited = http.post("/v1/platform/storage/", headers=headers, json=body)
        assert limited.status_code == 429
        assert limited.json()["code"] == "throttled"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        other_key = {"X-API-KEY": "local-api-key-globex-0002"}
        assert http.post("/v1/platform/storage/", headers=other_key, json=body).is_success
        assert http.get("/_emulator/health").status_code == 200


def test_rate_limit_is_off_by_default(emulator: Any):
    with emulator.client() as http:
        body = {"op": "get", "namespace": "n", "params": {"key": "k"}}
        statuses = {
            http.post(
                "/v1/platform/storage/", headers={"X-API-KEY": ACME_KEY}, json=body
            ).status_code
            for _ in range(80)
        }
        assert statuses == {200}


def test_faults_fail_the_next_calls_then_clear(emulator_factory: Any):
    handle = emulator_factory()
    with handle.client() as http:
        headers = {"X-API-KEY": ACME_KEY}
        body = {"op": "get", "namespace": "n", "params": {"key": "k"}}
        added = http.post(
            "/_emulator/faults", json={"path": "/v1/platform/storage/", "status": 503, "times": 2}
        )
        assert added.status_code == 201
        statuses = [
            http.post("/v1/platform/storage/", headers=headers, json=body).status_code
            for _ in range(3)
        ]
        assert statuses == [503, 503, 200]
        http.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/", "status": 429, "retry_after": 7, "times": 5},
        )
        throttled = http.post("/v1/platform/storage/", headers=headers, json=body)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "7"
        assert http.get("/_emulator/faults").json()[0]["times"] == 4
        assert http.delete("/_emulator/faults").status_code == 204
        assert http.get("/_emulator/faults").json() == []
        assert http.post("/v1/platform/storage/", headers=headers, json=body).status_code == 200


def test_faults_can_stall_a_call(emulator_factory: Any):
    handle = emulator_factory()
    with handle.client() as http:
        http.post("/_emulator/faults", json={"path": "/v1/platform/activity/", "delay_ms": 400})
        started = time.monotonic()
        response = http.get("/v1/platform/activity/", headers=token_headers(http))
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.4


def test_fault_requests_are_validated(emulator: Any):
    with emulator.client() as http:
        for body in (
            {},
            {"path": "x", "status": 500},
            {"path": "/v1/", "status": 418},
            {"path": "/v1/"},
            {"path": "/v1/", "status": 500, "times": -1},
        ):
            response = http.post("/_emulator/faults", json=body)
            assert response.status_code == 400, body
            assert "details" in response.json()


def test_the_real_clock_cannot_be_advanced(emulator_factory: Any):
    handle = emulator_factory(clock="real")
    with handle.client() as http:
        response = http.post("/_emulator/clock/advance", json={"seconds": 60})
        assert response.status_code == 409
        assert response.json()["code"] == "clock_not_virtual"
        assert http.get("/_emulator/clock").json()["clock"] == "real"


def test_clock_advance_is_validated(emulator: Any):
    with emulator.client() as http:
        for body in ({}, {"seconds": -1}, {"seconds": "5"}, {"seconds": True}, {"seconds": 10**12}):
            response = http.post("/_emulator/clock/advance", json=body)
            assert response.status_code == 400, body


def test_invalid_fixtures_stop_start_up_naming_the_entry(tmp_path: Path):
    world = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    world["users"][1]["timezone"] = "Mars/Olympus"
    fixtures = tmp_path / "bad.json"
    fixtures.write_text(json.dumps(world), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--port",
            str(free_port()),
            "--fixtures",
            str(fixtures),
            "--db",
            ":memory:",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "users[1]" in result.stderr
    assert "Mars/Olympus" in result.stderr


def test_unreadable_fixtures_stop_start_up(tmp_path: Path):
    fixtures = tmp_path / "broken.json"
    fixtures.write_text("{", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--port",
            str(free_port()),
            "--fixtures",
            str(fixtures),
            "--db",
            ":memory:",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_secrets_never_reach_the_log(emulator_factory: Any, unreachable_fixtures: Path):
    handle = emulator_factory(fixtures=unreachable_fixtures)
    with handle.client() as http:
        headers = token_headers(http)
        http.post(
            "/v1/platform/storage/",
            headers=headers,
            json={"op": "set", "params": {"key": "k", "value": 1}},
        )
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "x"})
    handle.stop()
    log = handle.log()
    assert ACME_KEY not in log
    assert headers["X-EXCHANGE-TOKEN"] not in log
    assert "local-signature-acme-0001" not in log
