"""End to end: the emulator calls `chalice local` over HTTP, as Dailybot would call Lambda."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.models import ActivityRecord
from chalicelib.redaction import Secret
from devstack.stack import LOCAL_API_KEY
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
ACME = "11111111-1111-4111-8111-111111111111"


def platform(stack: Stack) -> DailybotClient:
    return DailybotClient(base_url=f"{stack.emulator.base_url}/v1/", api_key=Secret(LOCAL_API_KEY))


def activity(stack: Stack) -> list[ActivityRecord]:
    with platform(stack) as client:
        token = client.fetch_exchange_token(JANE).token
        return client.list_activity(exchange_token=token)


def test_the_commands_answer_through_the_emulator(stack: Stack) -> None:
    key = f"color-{uuid.uuid4().hex[:6]}"

    remembered = stack.invoke("remember", f"{key} blue")
    recalled = stack.invoke("recall", key)
    forgotten = stack.invoke("forget", key)
    gone = stack.invoke("recall", key)
    history = stack.invoke("history")

    assert [r["status_code"] for r in (remembered, recalled, forgotten, gone, history)] == [200] * 5
    assert all(0 < r["elapsed_ms"] < 10_000 for r in (remembered, recalled, history))
    assert remembered["reply"] == {"message": f"Got it: *{key}* is `blue`."}
    assert recalled["reply"] == {"message": f"*{key}* is `blue`."}
    assert forgotten["reply"] == {"message": f"Forgot *{key}*."}
    assert gone["reply"] == {"message": f"Nothing is stored under *{key}*."}
    assert history["reply"]["message"].startswith("Last 5 activity records:")
    assert "usage/triggered (history)" in history["reply"]["message"]


def test_a_bad_signature_is_refused_by_the_app(stack: Stack) -> None:
    import httpx

    response = httpx.post(
        f"{stack.app.base_url}/dailybot",
        content=b"{}",
        headers={"X-DailyBot-Signature": "forged"},
        trust_env=False,
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"


def test_a_schedule_fires_on_the_virtual_clock(stack: Stack) -> None:
    on = stack.invoke("standup-reminder", "on * * * * *")
    assert "Scheduled execution" in on["reply"]["message"]

    advanced = stack.control("POST", "clock/advance", seconds=61)

    assert advanced["fired"] >= 1
    fired = [r for r in activity(stack) if (r.category, r.action) == ("schedule", "fired")]
    assert fired
    assert fired[0].label == "standup-reminder"
    assert stack.invoke("standup-reminder", "off")["reply"] == {"message": "Standup reminder off."}


def test_an_event_reaches_its_handler(stack: Stack) -> None:
    # What self-registration does for the declared `kudos.posted` handler.
    with platform(stack) as client:
        token = client.fetch_exchange_token(JANE).token
        client.register_event_subscription(["kudos.posted"], exchange_token=token)
        before = client.storage_get("kudos_count", exchange_token=token) or 0

    published = stack.control(
        "POST",
        "events",
        organization_uuid=ACME,
        event="kudos.posted",
        body={"kudos": {"message": "thanks"}},
    )

    assert published["deliveries"] == 1
    with platform(stack) as client:
        token = client.fetch_exchange_token(JANE).token
        assert client.storage_get("kudos_count", exchange_token=token) == before + 1
    assert any((r.category, r.action) == ("event", "kudos.posted") for r in activity(stack))


def test_a_delivery_redelivered_after_a_lost_answer_runs_once(stack: Stack) -> None:
    """The handler ran, but the answer was lost on the way back (a 500 from the gateway).

    Dailybot redelivers the identical body; the runtime finds the delivery in its idempotency
    store and answers the stored reply without running the handler again.
    """
    key = f"redelivered-{uuid.uuid4().hex[:6]}"
    runs_before = _remember_runs(stack)
    stack.gateway.lose_next = 1
    seen = len(stack.gateway.forwarded)

    answer = stack.invoke("remember", f"{key} once")

    assert answer["status_code"] == 200
    assert answer["reply"] == {"message": f"Got it: *{key}* is `once`."}
    attempts = stack.gateway.forwarded[seen:]
    assert [status for _, status in attempts] == [200, 200]
    assert attempts[0][0] == attempts[1][0]  # identical bytes
    deliveries = [d for d in stack.control("GET", "deliveries") if d["url"].endswith("/dailybot")]
    assert [d["status"] for d in deliveries[-2:]] == [500, 200]
    assert _remember_runs(stack) == runs_before + 1
    summaries = [
        _line(line) for line in stack.app.log().splitlines() if "delivery finished" in line
    ]
    assert [s["outcome"] for s in summaries[-2:]] == ["answered", "duplicate"]


def test_an_unknown_intent_gets_the_list(stack: Stack) -> None:
    # Globex's command "greet" reaches this app, which has no `greet` handler.
    answer = stack.invoke("greet")

    assert answer["status_code"] == 200
    assert "Available commands" in answer["reply"]["message"]


def _remember_runs(stack: Stack) -> int:
    """How many times `remember` ran: the runtime records usage once per run."""
    usage = ("usage", "triggered", "remember")
    return sum((r.category, r.action, r.label) == usage for r in activity(stack))


def _line(text: str) -> dict[str, Any]:
    return dict(json.loads(text[text.index("{") :]))
