"""Scheduled executions under the virtual clock: time zones, repeats, is_active, deletion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.emulator.emulator_process import as_user
from tests.emulator.emulator_world import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_SIGNATURE,
    GLOBEX_COMMAND,
    GLOBEX_KEY,
    JANE,
    JOHN,
    KIM,
)

HOUR = 3600
DAY = 24 * HOUR


def instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def schedule(http: httpx.Client, headers: dict[str, str], **fields: Any) -> str:
    response = http.post(
        "/v1/platform/scheduling/", headers=headers, json={"name": "job", **fields}
    )
    assert response.status_code == 200, response.text
    schedule_uuid: str = response.json()["uuid"]
    return schedule_uuid


def advance(http: httpx.Client, seconds: float) -> dict[str, Any]:
    before = instant(http.get("/_emulator/clock").json()["now"])
    response = http.post("/_emulator/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert instant(answer["now"]) == before + timedelta(seconds=seconds)
    return answer


@pytest.fixture
def http(wired_emulator: Any) -> Any:
    with wired_emulator.client() as client:
        yield client


def test_nothing_fires_while_the_virtual_clock_stands_still(http: Any, command_receiver: Any):
    schedule(http, as_user(http, JANE), execution_frequency=1)
    first = http.get("/_emulator/clock").json()["now"]
    assert http.get("/_emulator/clock").json() == {"now": first, "clock": "virtual"}
    assert command_receiver.requests == []


def test_cron_fires_in_each_organizations_time_zone(http: Any, command_receiver: Any):
    acme = schedule(http, as_user(http, JANE), cron="0 9 * * *")
    globex = schedule(http, as_user(http, KIM, GLOBEX_KEY), cron="0 9 * * *")
    answer = advance(http, 2 * DAY)
    assert answer["fired"] == 4
    bodies = command_receiver.bodies()
    stamps = [instant(b["event_timestamp"]) for b in bodies]
    assert stamps == sorted(stamps)
    for body, zone in (
        (b, "America/Bogota") for b in bodies if b["scheduled_execution"]["uuid"] == acme
    ):
        local = instant(body["event_timestamp"]).astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute, local.second) == (9, 0, 0)
    tokyo = [b for b in bodies if b["scheduled_execution"]["uuid"] == globex]
    assert len(tokyo) == 2
    for body in tokyo:
        local = instant(body["event_timestamp"]).astimezone(ZoneInfo("Asia/Tokyo"))
        assert (local.hour, local.minute) == (9, 0)
        assert body["command_uuid"] == GLOBEX_COMMAND
    utc_hours = {instant(b["event_timestamp"]).hour for b in bodies}
    assert utc_hours == {14, 0}  # 09:00 in Bogota and in Tokyo


def test_user_timezone_follows_the_owner(http: Any, command_receiver: Any):
    schedule(http, as_user(http, JANE), cron="30 7 * * *", timezone_type="user_timezone")
    advance(http, DAY)
    [body] = command_receiver.bodies()
    local = instant(body["event_timestamp"]).astimezone(ZoneInfo("Europe/Madrid"))
    assert (local.hour, local.minute) == (7, 30)


def test_scheduled_body_and_signature(http: Any, command_receiver: Any):
    payload = {"channel": "general", "n": 1}
    schedule_uuid = schedule(http, as_user(http, JOHN), execution_frequency=30, payload=payload)
    start = instant(http.get("/_emulator/clock").json()["now"])
    advance(http, 30 * 60)
    [request] = command_receiver.requests
    assert request.path == "/acme"
    assert request.headers["x-dailybot-signature"] == ACME_SIGNATURE
    body = request.json
    assert body["scheduled_execution"] == {"uuid": schedule_uuid, "name": "job", "payload": payload}
    assert body["intent"] == "remember"
    assert body["query"] == ""
    assert body["organization_uuid"] == ACME
    assert body["command_uuid"] == ACME_COMMAND
    assert body["user_uuid"] == JOHN
    assert body["user_full_name"] == "John Roe"
    assert body["user_context"]["timezone"] == "America/New_York"
    assert instant(body["event_timestamp"]) == start + timedelta(minutes=30)
    headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": body["exchange_token"]}
    assert http.get("/v1/platform/activity/", headers=headers).status_code == 200


def test_a_schedule_created_without_token_acts_as_the_first_user(http: Any, command_receiver: Any):
    schedule(http, {"X-API-KEY": ACME_KEY}, command_uuid=ACME_COMMAND, execution_frequency=5)
    advance(http, 5 * 60)
    [body] = command_receiver.bodies()
    assert body["user_uuid"] == JANE


def test_repeats_then_inactive(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    schedule_uuid = schedule(http, headers, execution_frequency=60, repeats=3)
    assert advance(http, 10 * HOUR)["fired"] == 3
    assert len(command_receiver.requests) == 3
    fresh = as_user(http, JANE)  # the first token expired ten virtual hours ago
    got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=fresh).json()
    assert got["is_active"] is False
    assert got["repeats"] == 3
    assert advance(http, 10 * HOUR)["fired"] == 0


def test_is_active_pauses_and_resumes(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    schedule_uuid = schedule(http, headers, execution_frequency=30)
    path = f"/v1/platform/scheduling/{schedule_uuid}/"
    assert http.put(path, headers=headers, json={"is_active": False}).json()["is_active"] is False
    assert advance(http, 2 * HOUR)["fired"] == 0
    http.put(path, headers=as_user(http, JANE), json={"is_active": True})
    assert advance(http, HOUR)["fired"] == 2
    assert len(command_receiver.requests) == 2


def test_deletion_stops_firing(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    schedule_uuid = schedule(http, headers, execution_frequency=60)
    assert advance(http, HOUR)["fired"] == 1
    http.delete(f"/v1/platform/scheduling/{schedule_uuid}/", headers=as_user(http, JANE))
    assert advance(http, 5 * HOUR)["fired"] == 0
    assert len(command_receiver.requests) == 1


def test_callback_url_receives_the_execution(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    schedule_uuid = schedule(http, headers, execution_frequency=10)
    http.put(
        f"/v1/platform/scheduling/{schedule_uuid}/",
        headers=headers,
        json={"callback_url": f"{command_receiver.url}/callback"},
    )
    advance(http, 10 * 60)
    assert [r.path for r in command_receiver.requests] == ["/callback"]


def test_changing_the_cron_reschedules(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    schedule_uuid = schedule(http, headers, cron="0 0 1 1 *")
    advance(http, HOUR)
    fired_before = len(command_receiver.requests)  # 0 unless the hour crossed New Year
    http.put(
        f"/v1/platform/scheduling/{schedule_uuid}/",
        headers=as_user(http, JANE),
        json={"cron": "*/15 * * * *"},
    )
    assert advance(http, HOUR)["fired"] == 4
    assert len(command_receiver.requests) == fired_before + 4


def test_a_redelivered_execution_is_byte_identical(http: Any, command_receiver: Any):
    command_receiver.answer_next(500)
    schedule(http, as_user(http, JANE), execution_frequency=15, repeats=1)
    assert advance(http, 15 * 60)["fired"] == 1
    first, second = command_receiver.requests
    assert first.body == second.body
    deliveries = http.get("/_emulator/deliveries").json()
    assert [(d["kind"], d["attempt"], d["status"]) for d in deliveries] == [
        ("scheduled_execution", 1, 500),
        ("scheduled_execution", 2, 200),
    ]


def test_organization_and_user_time_zones_in_one_organization(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)  # Jane is in Madrid; Acme is in Bogota
    by_org = schedule(http, headers, cron="0 9 * * *")
    by_user = schedule(http, headers, cron="0 9 * * *", timezone_type="user_timezone")
    assert advance(http, DAY)["fired"] == 2
    fired = {b["scheduled_execution"]["uuid"]: b for b in command_receiver.bodies()}
    for schedule_uuid, zone in ((by_org, "America/Bogota"), (by_user, "Europe/Madrid")):
        local = instant(fired[schedule_uuid]["event_timestamp"]).astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (9, 0)
    assert instant(fired[by_org]["event_timestamp"]).hour == 14
    assert instant(fired[by_user]["event_timestamp"]).hour in (7, 8)  # summer or winter time


def test_the_seed_defaults_of_a_minimal_schedule(http: Any, command_receiver: Any):
    headers = as_user(http, JOHN)
    schedule_uuid = schedule(http, headers, cron="*/10 * * * *")
    got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers).json()
    assert (got["execution_frequency"], got["repeats"], got["payload"]) == (0, -1, {})
    assert got["timezone_type"] == "organization_timezone"
    assert got["is_active"] is True
    assert got["callback_url"] == f"{command_receiver.url}/acme"
    assert advance(http, 30 * 60)["fired"] == 3
    # is_owned_by_user defaults to true: every run names its owner.
    assert {b["user_uuid"] for b in command_receiver.bodies()} == {JOHN}
    assert [b["scheduled_execution"]["payload"] for b in command_receiver.bodies()] == [{}] * 3


def test_an_execution_not_owned_by_a_user_names_no_user(http: Any, command_receiver: Any):
    schedule(http, as_user(http, JOHN), execution_frequency=5, is_owned_by_user=False)
    advance(http, 5 * 60)
    [body] = command_receiver.bodies()
    assert "user_uuid" not in body
    assert "user_full_name" not in body
    assert "user_context" not in body
    assert body["scheduled_execution"]["name"] == "job"
    # Its exchange token still lets the command use the platform API.
    headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": body["exchange_token"]}
    created = http.post(
        "/v1/platform/activity/", headers=headers, json={"category": "schedule", "action": "fired"}
    )
    assert created.status_code == 201


def test_execution_frequency_counts_minutes(http: Any, command_receiver: Any):
    start = instant(http.get("/_emulator/clock").json()["now"])
    schedule(http, as_user(http, JANE), execution_frequency=45)
    assert advance(http, 3 * HOUR)["fired"] == 4
    stamps = [instant(b["event_timestamp"]) for b in command_receiver.bodies()]
    assert stamps == [start + timedelta(minutes=45 * n) for n in range(1, 5)]


def test_the_callback_url_given_at_creation(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    url = f"{command_receiver.url}/from-create"
    schedule_uuid = schedule(http, headers, execution_frequency=10, callback_url=url)
    got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers).json()
    assert got["callback_url"] == url
    advance(http, 10 * 60)
    assert [r.path for r in command_receiver.requests] == ["/from-create"]
    [delivery] = http.get("/_emulator/deliveries").json()
    assert (delivery["kind"], delivery["url"], delivery["attempt"], delivery["status"]) == (
        "scheduled_execution",
        url,
        1,
        200,
    )


def test_a_paused_schedule_does_not_fire_even_when_created_due(http: Any, command_receiver: Any):
    headers = as_user(http, JANE)
    first = schedule(http, headers, execution_frequency=1)
    second = schedule(http, headers, execution_frequency=1)
    http.put(f"/v1/platform/scheduling/{first}/", headers=headers, json={"is_active": False})
    assert advance(http, 3 * 60)["fired"] == 3
    assert {b["scheduled_execution"]["uuid"] for b in command_receiver.bodies()} == {second}
