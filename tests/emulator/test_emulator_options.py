"""Start-up options and control endpoints: token TTL, rate limit, faults, clocks, fixtures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import emulator.__main__ as emulator_main
import emulator.server as emulator_server
from emulator.world import load_world
from tests.emulator.emulator_process import DEFAULT_FIXTURES, ROOT, free_port
from tests.emulator.emulator_world import ACME_KEY, JANE

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


def serve_with(fixtures: Path) -> subprocess.CompletedProcess[str]:
    """`python -m emulator serve` on `fixtures`, as a real process that should refuse them."""
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(free_port())]
    return subprocess.run(
        [*command, "--fixtures", str(fixtures), "--db", ":memory:"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_invalid_fixtures_stop_start_up_naming_the_entry(tmp_path: Path):
    world = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    world["users"][1]["timezone"] = "Mars/Olympus"
    fixtures = tmp_path / "bad.json"
    fixtures.write_text(json.dumps(world), encoding="utf-8")
    result = serve_with(fixtures)
    assert result.returncode == 2
    assert "users[1]" in result.stderr
    assert "Mars/Olympus" in result.stderr


def test_unreadable_fixtures_stop_start_up(tmp_path: Path):
    fixtures = tmp_path / "broken.json"
    fixtures.write_text("{", encoding="utf-8")
    result = serve_with(fixtures)
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


def _bad_world(change: Any) -> dict[str, Any]:
    world: dict[str, Any] = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    change(world)
    return world


def _set(section: str, index: int, field: str, value: Any) -> Any:
    return lambda world: world[section][index].__setitem__(field, value)


BAD_FIXTURES = [
    (lambda w: w.__setitem__("comands", []), "comands: unknown section"),
    (lambda w: w.__setitem__("users", {}), "users: must be a list"),
    (lambda w: w["organizations"].append("Acme"), "organizations[2]: must be an object"),
    (_set("organizations", 1, "uuid", "globex"), "organizations[1]: 'uuid' is not a UUID"),
    (lambda w: w["organizations"][0].pop("name"), "organizations[0]: 'name' must be"),
    (_set("users", 0, "timezone", "Mars/Olympus"), "users[0]: unknown timezone 'Mars/Olympus'"),
    (
        _set("users", 1, "organization_uuid", "33333333-3333-4333-8333-333333333333"),
        "users[1]: unknown organization 33333333-3333-4333-8333-333333333333",
    ),
    (lambda w: w["users"].append(dict(w["users"][0])), "users[3]: duplicate entry"),
    (_set("commands", 0, "url", "ftp://127.0.0.1/x"), "commands[0]: 'url' must be an http(s)"),
    (_set("commands", 1, "is_public", "no"), "commands[1]: 'is_public' must be true or false"),
    (_set("commands", 0, "aliases", "recall"), "commands[0]: 'aliases' must be a list"),
    (lambda w: w["commands"][1].pop("signature"), "commands[1]: 'signature' must be"),
    (
        lambda w: w["commands"][1].update(
            organization_uuid=w["organizations"][0]["uuid"], intent="recall"
        ),
        "commands[1]: intent 'recall' already used",
    ),
    (
        _set("api_keys", 1, "command_uuid", "c0000000-0000-4000-8000-000000000009"),
        "api_keys[1]: unknown command c0000000-0000-4000-8000-000000000009",
    ),
    (
        _set("api_keys", 2, "organization_uuid", "11111111-1111-4111-8111-111111111111"),
        "api_keys[2]: command belongs to another organization",
    ),
    (_set("api_keys", 0, "scopes", "AUTH_FETCH_EXCHANGE_TOKEN"), "api_keys[0]: 'scopes' must"),
    (lambda w: w["api_keys"].append(dict(w["api_keys"][0])), "api_keys[3]: duplicate entry"),
]


@pytest.mark.parametrize(("change", "message"), BAD_FIXTURES)
def test_each_kind_of_bad_entry_stops_start_up(
    change: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    fixtures = tmp_path / "bad.json"
    fixtures.write_text(json.dumps(_bad_world(change)), encoding="utf-8")

    def never_serves(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server started with invalid fixtures")

    monkeypatch.setattr(emulator_server.uvicorn, "run", never_serves)
    code = emulator_main.main(["serve", "--fixtures", str(fixtures), "--db", ":memory:"])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("emulator: invalid fixtures: ")
    assert message in error


@pytest.mark.parametrize(
    ("content", "message"),
    [("[]", "must hold a JSON object"), (None, "cannot read fixtures file")],
)
def test_a_fixtures_file_that_is_no_world_stops_start_up(
    content: str | None, message: str, tmp_path: Path, capsys: Any
):
    fixtures = tmp_path / "world.json"
    if content is not None:
        fixtures.write_text(content, encoding="utf-8")
    assert emulator_main.main(["serve", "--fixtures", str(fixtures), "--db", ":memory:"]) == 2
    assert message in capsys.readouterr().err


def test_the_default_fixtures_are_valid():
    world = load_world(DEFAULT_FIXTURES)
    assert len(world.organizations) == 2
    assert len(world.api_keys) == 3


def test_rate_limit_of_sixty_a_minute(emulator_factory: Any):
    handle = emulator_factory(extra_args=["--rate-limit", "60"])
    with handle.client() as http:
        headers = {"X-API-KEY": ACME_KEY}
        body = {"op": "get", "namespace": "n", "params": {"key": "k"}}
        statuses = [
            http.post("/v1/platform/storage/", headers=headers, json=body).status_code
            for _ in range(60)
        ]
        assert statuses == [200] * 60
        limited = http.get("/v1/platform/activity/", headers=headers)
        assert limited.status_code == 429
        assert limited.json() == {
            "detail": f"Request was throttled. Expected available in "
            f"{limited.headers['Retry-After']} seconds.",
            "code": "throttled",
        }
        assert 1 <= int(limited.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("status", [429, 500, 503])
def test_each_fault_status_with_a_delay(emulator_factory: Any, status: int):
    handle = emulator_factory()
    with handle.client() as http:
        fault = {
            "path": "/v1/platform/activity/",
            "status": status,
            "times": 1,
            "retry_after": 3,
            "delay_ms": 200,
        }
        assert http.post("/_emulator/faults", json=fault).json() == fault
        headers = token_headers(http)
        started = time.monotonic()
        failed = http.get("/v1/platform/activity/", headers=headers)
        assert time.monotonic() - started >= 0.2
        assert failed.status_code == status
        assert ("Retry-After" in failed.headers) == (status == 429)
        # Other paths are untouched, and the fault is spent after `times` calls.
        assert http.post(TOKEN_PATH, headers=headers, json={"user_uuid": JANE}).status_code == 200
        assert http.get("/_emulator/faults").json() == []
        assert http.get("/v1/platform/activity/", headers=headers).status_code == 200
