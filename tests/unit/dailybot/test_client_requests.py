"""What each endpoint sends (method, path, headers, body) and what it makes of the answer."""

from __future__ import annotations

import json
from typing import Any

import httpx

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.models import (
    ActivityEntry,
    ActivityRecord,
    MessageButton,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleSpec,
)
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import (
    API_KEY,
    EXCHANGE_TOKEN,
    ScriptedPlatform,
    answer,
)

TOKEN = Secret(EXCHANGE_TOKEN)
SCHEDULE = {
    "uuid": "5c0e0000-0000-4000-8000-000000000001",
    "name": "Daily sync",
    "timezone_type": "organization_timezone",
    "is_active": True,
    "cron": "0 9 * * 1-5",
    "execution_frequency": 0,
    "repeats": -1,
    "payload": {"team": "core"},
    "callback_url": "https://example.test/dailybot",
}
RECORD: dict[str, Any] = {
    "command": "command-uuid",
    "organization": "org-uuid",
    "user": "user-uuid",
    "category": "usage",
    "action": "triggered",
    "label": None,
    "metadata": {},
    "created_at": "2026-02-25T12:00:00Z",
}


def sent(platform: ScriptedPlatform) -> tuple[str, str, object]:
    request = platform.last
    body = json.loads(request.content) if request.content else None
    return request.method, request.url.path, body


def assert_headers(request: httpx.Request, *, token: bool) -> None:
    assert request.headers["X-API-KEY"] == API_KEY
    assert request.headers["Accept"] == "application/json"
    if token:
        assert request.headers["X-EXCHANGE-TOKEN"] == EXCHANGE_TOKEN
    else:
        assert "X-EXCHANGE-TOKEN" not in request.headers


def test_fetch_exchange_token(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200, {"token": "fresh-token-value", "user_context": {"tz": "UTC"}}))

    grant = client.fetch_exchange_token("user-1", include_user_context=True)

    assert sent(platform) == (
        "POST",
        "/v1/auth/fetch-command-exchange-token/",
        {"user_uuid": "user-1", "include_user_context": True},
    )
    assert_headers(platform.last, token=False)
    assert grant.token == Secret("fresh-token-value")
    assert grant.user_context == {"tz": "UTC"}


def test_fetch_exchange_token_without_user_context(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"token": "fresh-token-value"}))

    grant = client.fetch_exchange_token("user-1")

    assert sent(platform)[2] == {"user_uuid": "user-1"}
    assert grant.user_context is None


def test_create_schedule_sends_only_the_fields_that_are_set(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"uuid": "new-uuid"}))

    uuid = client.create_schedule(
        ScheduleSpec(name="Daily sync", cron="0 9 * * 1-5"), exchange_token=TOKEN
    )

    assert uuid == "new-uuid"
    assert sent(platform) == (
        "POST",
        "/v1/platform/scheduling/",
        {"name": "Daily sync", "cron": "0 9 * * 1-5"},
    )
    assert_headers(platform.last, token=True)


def test_create_schedule_with_command_uuid_and_every_field(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"uuid": "new-uuid"}))
    spec = ScheduleSpec(
        name="Reminder",
        execution_frequency=60,
        repeats=3,
        payload={"text": "hi"},
        timezone_type="user_timezone",
        is_owned_by_user=False,
        callback_url="https://example.test/cb",
    )

    client.create_schedule(spec, command_uuid="cmd-1")

    assert sent(platform)[2] == {
        "name": "Reminder",
        "command_uuid": "cmd-1",
        "execution_frequency": 60,
        "repeats": 3,
        "payload": {"text": "hi"},
        "timezone_type": "user_timezone",
        "is_owned_by_user": False,
        "callback_url": "https://example.test/cb",
    }
    assert_headers(platform.last, token=False)


def test_get_schedule(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200, SCHEDULE))

    schedule = client.get_schedule("5c0e0000-0000-4000-8000-000000000001", exchange_token=TOKEN)

    assert sent(platform) == (
        "GET",
        "/v1/platform/scheduling/5c0e0000-0000-4000-8000-000000000001/",
        None,
    )
    assert_headers(platform.last, token=True)
    assert schedule == ScheduledExecution(**SCHEDULE)  # type: ignore[arg-type]


def test_schedule_uuid_cannot_escape_its_path(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, SCHEDULE))

    client.get_schedule("../storage", exchange_token=TOKEN)

    assert platform.last.url.raw_path == b"/v1/platform/scheduling/..%2Fstorage/"


def test_update_schedule(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200, {**SCHEDULE, "is_active": False}))

    schedule = client.update_schedule("abc", {"is_active": False}, exchange_token=TOKEN)

    assert sent(platform) == ("PUT", "/v1/platform/scheduling/abc/", {"is_active": False})
    assert_headers(platform.last, token=True)
    assert schedule.is_active is False


def test_delete_schedule(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(204))

    client.delete_schedule("abc", exchange_token=TOKEN)

    assert sent(platform) == ("DELETE", "/v1/platform/scheduling/abc/", None)
    assert_headers(platform.last, token=True)


def test_storage_get_with_token(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200, {"color": {"value": "blue"}}))

    value = client.storage_get("color", exchange_token=TOKEN)

    assert value == {"value": "blue"}
    assert sent(platform) == (
        "POST",
        "/v1/platform/storage/",
        {"op": "get", "params": {"key": "color"}},
    )
    assert_headers(platform.last, token=True)


def test_storage_get_with_namespace_and_absent_key(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {}))

    assert client.storage_get("color", namespace="team") is None

    assert sent(platform)[2] == {"op": "get", "params": {"key": "color"}, "namespace": "team"}
    assert_headers(platform.last, token=False)


def test_storage_set(client: DailybotClient, platform: ScriptedPlatform) -> None:
    client.storage_set("color", ["blue", 1], exchange_token=TOKEN, namespace="team")

    assert sent(platform) == (
        "POST",
        "/v1/platform/storage/",
        {"op": "set", "params": {"key": "color", "value": ["blue", 1]}, "namespace": "team"},
    )
    assert_headers(platform.last, token=True)


def test_storage_set_stores_null_explicitly(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    client.storage_set("color", None, namespace="team")

    assert sent(platform)[2] == {
        "op": "set",
        "params": {"key": "color", "value": None},
        "namespace": "team",
    }


def test_storage_delete(client: DailybotClient, platform: ScriptedPlatform) -> None:
    client.storage_delete("color", exchange_token=TOKEN)

    assert sent(platform) == (
        "POST",
        "/v1/platform/storage/",
        {"op": "delete", "params": {"key": "color"}},
    )
    assert_headers(platform.last, token=True)


def test_register_event_subscription_answers_hook_uuid_as_text(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"hook_uuid": 123}))

    hook = client.register_event_subscription(
        ("kudos.posted",), subscribed_objects=["team-1"], exchange_token=TOKEN
    )

    assert hook == "123"
    assert sent(platform) == (
        "POST",
        "/v1/platform/event-subscription/",
        {"subscriptions": ["kudos.posted"], "subscribed_objects": ["team-1"]},
    )
    assert_headers(platform.last, token=True)


def test_register_event_subscription_without_objects(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"hook_uuid": "hook-1"}))

    assert client.register_event_subscription(["kudos.posted"], exchange_token=TOKEN) == "hook-1"
    assert sent(platform)[2] == {"subscriptions": ["kudos.posted"]}


def test_unregister_event_subscription(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200))

    client.unregister_event_subscription(exchange_token=TOKEN)

    assert sent(platform) == ("DELETE", "/v1/platform/event-subscription/", None)
    assert_headers(platform.last, token=True)


def test_list_activity(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(200, [RECORD, {**RECORD, "label": "x", "metadata": {"n": 1}}]))

    records = client.list_activity(exchange_token=TOKEN)

    assert sent(platform) == ("GET", "/v1/platform/activity/", None)
    assert_headers(platform.last, token=True)
    assert records == [
        ActivityRecord(**RECORD),
        ActivityRecord(**{**RECORD, "label": "x", "metadata": {"n": 1}}),
    ]


def test_list_activity_asks_for_the_newest_only_when_limited(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, [RECORD]))

    client.list_activity(exchange_token=TOKEN, limit=5)

    assert str(platform.last.url).endswith("/v1/platform/activity/?limit=5")


def test_list_activity_accepts_a_paginated_envelope(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"count": 1, "results": [RECORD]}))

    assert len(client.list_activity(exchange_token=TOKEN)) == 1


def test_create_activity(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(201, RECORD))

    record = client.create_activity(
        ActivityEntry(
            category="usage", action="triggered", label="l", metadata={"a": 1}, user_uuid="u"
        ),
        exchange_token=TOKEN,
    )

    assert sent(platform) == (
        "POST",
        "/v1/platform/activity/",
        {
            "category": "usage",
            "action": "triggered",
            "label": "l",
            "metadata": {"a": 1},
            "user_uuid": "u",
        },
    )
    assert_headers(platform.last, token=True)
    assert record.action == "triggered"


def test_create_activity_minimal_body(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(answer(201, RECORD))

    client.create_activity(ActivityEntry(category="usage", action="x"), exchange_token=TOKEN)

    assert sent(platform)[2] == {"category": "usage", "action": "x"}


def test_send_message_puts_the_token_in_the_body(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    message = OutgoingMessage(
        message="Done *now*",
        target_users=("u1", "u2"),
        target_channels=("c1",),
        buttons=(
            MessageButton(label="Again", value="remember again", label_after_click="Sent"),
            MessageButton(label="No", value="no"),
        ),
        image_url="https://example.test/i.png",
    )

    client.send_message(message, exchange_token=TOKEN)

    assert sent(platform) == (
        "POST",
        "/v1/send-message/",
        {
            "message": "Done *now*",
            "target_users": ["u1", "u2"],
            "target_channels": ["c1"],
            "buttons": [
                {
                    "label": "Again",
                    "value": "remember again",
                    "button_type": "Command",
                    "label_after_click": "Sent",
                },
                {"label": "No", "value": "no", "button_type": "Command"},
            ],
            "image_url": "https://example.test/i.png",
            "exchange_token": EXCHANGE_TOKEN,
        },
    )
    assert_headers(platform.last, token=False)


def test_send_message_without_token(client: DailybotClient, platform: ScriptedPlatform) -> None:
    client.send_message(OutgoingMessage(message="hi", target_teams=("t",)))

    assert sent(platform)[2] == {"message": "hi", "target_teams": ["t"]}


def test_on_call_wraps_each_request_with_method_and_path() -> None:
    calls: list[str] = []

    class Span:
        def __init__(self, method: str, path: str) -> None:
            self.name = f"{method} {path}"

        def __enter__(self) -> None:
            calls.append("enter " + self.name)

        def __exit__(self, *exc: object) -> None:
            calls.append("exit " + self.name)

    platform = ScriptedPlatform([answer(200, {"k": 1})])
    with DailybotClient(
        base_url="https://api.test/v1",
        api_key=Secret(API_KEY),
        transport=httpx.MockTransport(platform),
        on_call=Span,
    ) as client:
        assert client.storage_get("k", namespace="n") == 1

    assert calls == ["enter POST platform/storage/", "exit POST platform/storage/"]
    assert str(platform.last.url) == "https://api.test/v1/platform/storage/"


def test_one_httpx_client_serves_every_call(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    pool = client._transport
    client.storage_get("a", namespace="n")
    client.storage_get("b", namespace="n")
    assert client._transport is pool
    assert len(platform.requests) == 2
