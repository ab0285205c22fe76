"""Success answers that do not have the documented shape raise `InvalidResponse`, never KeyError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.models import ActivityEntry, ScheduleSpec
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import ScriptedPlatform, answer

TOKEN = Secret("test-exchange-token-abcdef")
SCHEDULE = {
    "uuid": "s1",
    "name": "n",
    "is_active": True,
    "execution_frequency": 0,
    "repeats": -1,
    "payload": {},
}
RECORD = {"category": "usage", "action": "x", "created_at": "2026-02-25T12:00:00Z"}

Call = Callable[[DailybotClient], Any]
FETCH: Call = lambda c: c.fetch_exchange_token("u")  # noqa: E731
CREATE: Call = lambda c: c.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN)  # noqa: E731
GET: Call = lambda c: c.get_schedule("s1", exchange_token=TOKEN)  # noqa: E731
STORAGE: Call = lambda c: c.storage_get("k", namespace="n")  # noqa: E731
HOOK: Call = lambda c: c.register_event_subscription(["kudos.posted"], exchange_token=TOKEN)  # noqa: E731
LIST: Call = lambda c: c.list_activity(exchange_token=TOKEN)  # noqa: E731
ACTIVITY: Call = lambda c: c.create_activity(ActivityEntry("u", "x"), exchange_token=TOKEN)  # noqa: E731


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (FETCH, {}),
        (FETCH, {"token": 5}),
        (FETCH, {"token": ""}),
        (FETCH, ["token"]),
        (CREATE, {}),
        (CREATE, {"uuid": True}),
        (CREATE, {"uuid": None}),
        (GET, {**SCHEDULE, "name": None}),
        (GET, {**SCHEDULE, "is_active": "yes"}),
        (GET, {**SCHEDULE, "repeats": "forever"}),
        (GET, {**SCHEDULE, "execution_frequency": True}),
        (GET, {**SCHEDULE, "cron": ["0 9 * * *"]}),
        (GET, {**SCHEDULE, "payload": []}),
        (STORAGE, ["v"]),
        (STORAGE, "v"),
        (HOOK, {"uuid": 1}),
        (LIST, {"records": []}),
        (LIST, [RECORD, "not a record"]),
        (ACTIVITY, {**RECORD, "created_at": None}),
        (ACTIVITY, {**RECORD, "metadata": "m"}),
    ],
)
def test_malformed_success_bodies(
    client: DailybotClient, platform: ScriptedPlatform, call: Call, body: Any
) -> None:
    platform.script(answer(200, body))

    with pytest.raises(errors.InvalidResponse):
        call(client)


def test_success_body_that_is_not_json(client: DailybotClient, platform: ScriptedPlatform) -> None:
    platform.script(httpx.Response(200, text="<html>ok</html>"))

    with pytest.raises(errors.InvalidResponse, match="not JSON") as caught:
        client.storage_get("k", namespace="n")

    assert "<html>" not in str(caught.value)


def test_redirect_is_not_followed_and_not_taken_for_success(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))

    with pytest.raises(errors.InvalidResponse, match="unexpected status 301"):
        client.storage_get("k", namespace="n")
    assert len(platform.requests) == 1


def test_schedule_answer_with_optional_fields_left_out(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(200, {"uuid": 7, "name": "n"}))

    schedule = client.get_schedule("7", exchange_token=TOKEN)

    assert schedule.uuid == "7"
    assert schedule.is_active is True
    assert schedule.execution_frequency == 0
    assert schedule.repeats == -1
    assert schedule.payload == {}
    assert schedule.cron is None
    assert schedule.timezone_type is None
