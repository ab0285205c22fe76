"""Dailybot's side: invoking commands, redelivery, and event fan-out to matching hooks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.emulator.emulator_process import as_user, fixtures_pointing_to
from tests.emulator.emulator_world import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_SIGNATURE,
    GLOBEX,
    GLOBEX_KEY,
    GLOBEX_SIGNATURE,
    JANE,
    JOHN,
    KIM,
)


def instant(stamp: str) -> datetime:
    assert stamp.endswith("Z")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_invoke_delivers_the_documented_body_and_answers_the_reply(
    wired_emulator: Any, command_receiver: Any
):
    command_receiver.reply = {"message": "Saved *color*"}
    with wired_emulator.client() as http:
        response = http.post(
            "/_emulator/invoke", json={"intent": "remember", "query": "color blue"}
        )
    assert response.status_code == 200
    answer = response.json()
    assert answer["status_code"] == 200
    assert answer["reply"] == {"message": "Saved *color*"}
    assert answer["elapsed_ms"] >= 0
    [request] = command_receiver.requests
    assert request.path == "/acme"
    assert request.headers["x-dailybot-signature"] == ACME_SIGNATURE
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert set(body) == {
        "intent",
        "query",
        "event_timestamp",
        "organization_uuid",
        "user_uuid",
        "user_full_name",
        "command_uuid",
        "exchange_token",
        "user_context",
    }
    assert body["intent"] == "remember"
    assert body["query"] == "color blue"
    assert body["organization_uuid"] == ACME
    assert body["command_uuid"] == ACME_COMMAND
    assert body["user_uuid"] == JANE  # the first user of the organization by default
    assert body["user_full_name"] == "Jane Doe"
    assert body["user_context"] == {
        "uuid": JANE,
        "full_name": "Jane Doe",
        "timezone": "Europe/Madrid",
    }
    instant(body["event_timestamp"])


def test_the_invocation_token_acts_as_the_user_on_the_platform(
    wired_emulator: Any, command_receiver: Any
):
    with wired_emulator.client() as http:
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "", "user_uuid": JOHN})
        token = command_receiver.requests[0].json["exchange_token"]
        headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": token}
        created = http.post(
            "/v1/platform/activity/",
            headers=headers,
            json={"category": "usage", "action": "triggered"},
        )
    assert created.status_code == 201
    assert created.json()["user"] == JOHN


def test_aliases_invoke_the_same_command_with_the_alias_as_intent(
    wired_emulator: Any, command_receiver: Any
):
    with wired_emulator.client() as http:
        for alias in ("recall", "forget", "history", "standup-reminder"):
            assert (
                http.post("/_emulator/invoke", json={"intent": alias, "query": "q"}).json()[
                    "status_code"
                ]
                == 200
            )
    bodies = command_receiver.bodies()
    assert [b["intent"] for b in bodies] == ["recall", "forget", "history", "standup-reminder"]
    assert {b["command_uuid"] for b in bodies} == {ACME_COMMAND}
    assert {r.path for r in command_receiver.requests} == {"/acme"}


def test_each_invocation_is_a_distinct_delivery(wired_emulator: Any, command_receiver: Any):
    with wired_emulator.client() as http:
        for _ in range(2):
            http.post("/_emulator/invoke", json={"intent": "remember", "query": "same"})
    first, second = command_receiver.bodies()
    assert instant(first["event_timestamp"]) < instant(second["event_timestamp"])
    assert first["exchange_token"] != second["exchange_token"]


def test_invoke_a_plain_text_reply(wired_emulator: Any, command_receiver: Any):
    command_receiver.reply = "just text"
    with wired_emulator.client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "greet"}).json()
    assert answer["reply"] == "just text"
    [request] = command_receiver.requests
    assert request.path == "/globex"
    assert request.headers["x-dailybot-signature"] == GLOBEX_SIGNATURE
    assert request.json["user_uuid"] == KIM
    assert request.json["query"] == ""


def test_invoke_errors(wired_emulator: Any):
    with wired_emulator.client() as http:
        unknown = http.post("/_emulator/invoke", json={"intent": "dance"})
        assert unknown.status_code == 404
        assert unknown.json()["code"] == "unknown_intent"
        foreign_user = http.post("/_emulator/invoke", json={"intent": "remember", "user_uuid": KIM})
        assert foreign_user.status_code == 400
        for body in (
            {},
            {"intent": ""},
            {"intent": "remember", "query": 5},
            {"intent": "remember", "user_uuid": "x"},
        ):
            assert http.post("/_emulator/invoke", json=body).status_code == 400, body


def test_redelivery_after_a_500_sends_the_identical_body(
    wired_emulator: Any, command_receiver: Any
):
    command_receiver.answer_next(500)
    with wired_emulator.client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "remember", "query": "x"}).json()
        deliveries = http.get("/_emulator/deliveries").json()
    assert answer["status_code"] == 200
    first, second = command_receiver.requests
    assert first.body == second.body
    assert first.headers["x-dailybot-signature"] == second.headers["x-dailybot-signature"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 200)]
    assert deliveries[0]["delivery_id"] == deliveries[1]["delivery_id"]
    assert deliveries[0]["body_sha256"] == deliveries[1]["body_sha256"]
    assert deliveries[0]["kind"] == "invocation"


def test_three_attempts_in_all(wired_emulator: Any, command_receiver: Any):
    command_receiver.answer_next(503, 500, 502, 500)
    with wired_emulator.client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "remember"}).json()
    assert answer["status_code"] == 502
    assert len(command_receiver.requests) == 3
    assert len({r.body for r in command_receiver.requests}) == 1


def test_a_4xx_is_not_redelivered(wired_emulator: Any, command_receiver: Any):
    command_receiver.answer_next(400)
    with wired_emulator.client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "remember"}).json()
    assert answer["status_code"] == 400
    assert len(command_receiver.requests) == 1


def test_a_timeout_is_redelivered_with_the_identical_body(
    command_receiver: Any, emulator_factory: Any, tmp_path: Path
):
    handle = emulator_factory(
        fixtures=fixtures_pointing_to(command_receiver.url, tmp_path),
        extra_args=["--delivery-timeout", "0.3"],
    )
    command_receiver.delays.append(1.0)
    with handle.client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "remember"}).json()
        deliveries = http.get("/_emulator/deliveries").json()
    assert answer["status_code"] == 200
    first, second = command_receiver.wait_for(2)[:2]
    assert first.body == second.body
    assert [(d["attempt"], d["status"], d["error"]) for d in deliveries] == [
        (1, None, "ReadTimeout"),
        (2, 200, None),
    ]


def test_a_refused_connection_is_retried_and_reported(
    emulator_factory: Any, unreachable_fixtures: Path
):
    with emulator_factory(fixtures=unreachable_fixtures).client() as http:
        answer = http.post("/_emulator/invoke", json={"intent": "greet"}).json()
        deliveries = http.get("/_emulator/deliveries").json()
    assert answer["status_code"] is None
    assert answer["reply"] is None
    assert answer["error"] == "ConnectError"
    assert [d["attempt"] for d in deliveries] == [1, 2, 3]
    assert all(d["status"] is None and d["error"] == "ConnectError" for d in deliveries)
    assert {d["kind"] for d in deliveries} == {"invocation"}
    assert {d["url"] for d in deliveries} == {deliveries[0]["url"]}
    assert len({d["delivery_id"] for d in deliveries}) == 1
    assert len({d["body_sha256"] for d in deliveries}) == 1  # the identical body each time


# --- Events -------------------------------------------------------------------------------


def register(http: httpx.Client, headers: dict[str, str], **body: Any) -> int:
    response = http.post("/v1/platform/event-subscription/", headers=headers, json=body)
    assert response.status_code == 200, response.text
    hook_uuid: int = response.json()["hook_uuid"]
    return hook_uuid


def test_events_fan_out_to_matching_hooks_only(wired_emulator: Any, command_receiver: Any):
    with wired_emulator.client() as http:
        john = as_user(http, JOHN, ACME_KEY)
        acme_hook = register(http, john, subscriptions=["KUDOS_POSTED"])
        register(http, as_user(http, KIM, GLOBEX_KEY), subscriptions=["forms.response.created"])
        kudos = {"from": JANE, "to": JOHN, "text": "thanks!"}
        published = http.post(
            "/_emulator/events",
            json={"organization_uuid": ACME, "event": "kudos.posted", "body": kudos},
        )
        assert published.json()["deliveries"] == 1
        nobody = http.post(
            "/_emulator/events",
            json={"organization_uuid": GLOBEX, "event": "kudos.posted", "body": {}},
        )
        assert nobody.json()["deliveries"] == 0
        other_event = http.post(
            "/_emulator/events",
            json={"organization_uuid": ACME, "event": "forms.response.created", "body": {}},
        )
        assert other_event.json()["deliveries"] == 0
        [request] = command_receiver.requests
        body = request.json
        assert request.path == "/acme"
        assert request.headers["x-dailybot-signature"] == ACME_SIGNATURE
        assert set(body) == {
            "event",
            "event_timestamp",
            "organization_uuid",
            "command_uuid",
            "exchange_token",
            "hook",
            "body",
        }
        assert body["event"] == "kudos.posted"
        assert body["organization_uuid"] == ACME
        assert body["command_uuid"] == ACME_COMMAND
        assert body["hook"] == {"uuid": acme_hook}
        assert body["body"] == kudos
        headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": body["exchange_token"]}
        record = http.post(
            "/v1/platform/activity/", headers=headers, json={"category": "kudos", "action": "seen"}
        )
        assert record.json()["user"] == JOHN  # the user who registered the hook


def test_events_respect_subscribed_objects(wired_emulator: Any, command_receiver: Any):
    with wired_emulator.client() as http:
        register(
            http,
            as_user(http, KIM, GLOBEX_KEY),
            subscriptions=["forms.response.created"],
            subscribed_objects=["form-1"],
        )

        def publish(**extra: Any) -> int:
            answer = http.post(
                "/_emulator/events",
                json={
                    "organization_uuid": GLOBEX,
                    "event": "FORMS_RESPONSE_CREATED",
                    "body": {},
                    **extra,
                },
            )
            count: int = answer.json()["deliveries"]
            return count

        assert publish(subscribed_object="form-1") == 1
        assert publish(subscribed_object="form-2") == 0
        assert publish() == 0
    assert [b["event"] for b in command_receiver.bodies()] == ["forms.response.created"]


def test_an_unregistered_hook_gets_no_events(wired_emulator: Any, command_receiver: Any):
    with wired_emulator.client() as http:
        headers = as_user(http, JANE, ACME_KEY)
        register(http, headers, subscriptions=["kudos.posted"])
        http.delete("/v1/platform/event-subscription/", headers=headers)
        answer = http.post(
            "/_emulator/events",
            json={"organization_uuid": ACME, "event": "kudos.posted", "body": {}},
        )
    assert answer.json()["deliveries"] == 0
    assert command_receiver.requests == []


def test_event_requests_are_validated(emulator: Any):
    with emulator.client() as http:
        for body in (
            {},
            {"organization_uuid": ACME},
            {"organization_uuid": ACME, "event": "x"},
            {"organization_uuid": "nope", "event": "kudos.posted"},
            {"organization_uuid": ACME, "event": "kudos.posted", "body": []},
        ):
            assert http.post("/_emulator/events", json=body).status_code == 400, body


def test_an_event_is_redelivered_with_the_identical_body(
    wired_emulator: Any, command_receiver: Any
):
    with wired_emulator.client() as http:
        register(http, as_user(http, JANE, ACME_KEY), subscriptions=["kudos.posted"])
        command_receiver.answer_next(503, 500)
        published = http.post(
            "/_emulator/events",
            json={"organization_uuid": ACME, "event": "KUDOS_POSTED", "body": {"n": 1}},
        )
        deliveries = http.get("/_emulator/deliveries").json()
    assert published.json()["deliveries"] == 1
    assert len({r.body for r in command_receiver.requests}) == 1
    assert len(command_receiver.requests) == 3
    assert [(d["kind"], d["attempt"], d["status"]) for d in deliveries] == [
        ("event", 1, 503),
        ("event", 2, 500),
        ("event", 3, 200),
    ]
    assert {d["url"] for d in deliveries} == {f"{command_receiver.url}/acme"}
