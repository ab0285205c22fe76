"""The inspector: deliveries and platform calls filtered by kind, subject, status and
organization, with timings, and a delivery sent again as it was or edited."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.emulator.emulator_process import EmulatorProcess, as_user
from tests.emulator.emulator_world import ACME, GLOBEX, GLOBEX_KEY, JANE, JOHN, KIM


def rows(http: Any, **filters: Any) -> list[dict[str, Any]]:
    answer = http.get("/_emulator/inspector", params=filters)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["rows"]
    return found


def subjects(found: list[dict[str, Any]]) -> list[str]:
    return [r["run"]["subject"] if r["type"] == "run" else r["call"]["summary"] for r in found]


def test_the_inspector_filters_by_kind_subject_status_and_organization(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post(
            "/v1/platform/event-subscription/",
            headers=jane,
            json={"subscriptions": ["kudos.posted"]},
        )
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"})
        command_receiver.answer_next(404)
        http.post("/_emulator/invoke", json={"intent": "recall", "query": "a"})
        command_receiver.answer_next(503, 503, 503)
        http.post("/_emulator/events", json={"organization_uuid": ACME, "event": "kudos.posted"})
        http.post("/_emulator/invoke", json={"intent": "greet", "organization_uuid": GLOBEX})
        everything = rows(http)
        invocations = rows(http, kind="invocation")
        events_and_calls = rows(http, kind="event,platform_call")
        not_found = rows(http, status="4xx")
        failing = rows(http, status="5xx")
        exact = rows(http, status="404")
        by_subject = rows(http, subject="REC")
        in_globex = rows(http, organization_uuid=GLOBEX)
        page = rows(http, limit=2)
        older = rows(http, limit=2, before=page[-1]["run"]["seq"])
        bad = [
            http.get("/_emulator/inspector", params=p)
            for p in (
                {"kind": "letters"},
                {"status": "9xx"},
                {"before": "x"},
                {"organization_uuid": "no"},
            )
        ]

    assert subjects(everything) == [
        "greet",
        "kudos.posted",
        "recall",
        "remember",
        "subscribe kudos.posted",
        "fetch exchange token",
    ]
    assert subjects(invocations) == ["greet", "recall", "remember"]
    assert subjects(events_and_calls) == [
        "kudos.posted",
        "subscribe kudos.posted",
        "fetch exchange token",
    ]
    assert subjects(not_found) == subjects(exact) == ["recall"]
    assert subjects(failing) == ["kudos.posted"]
    assert subjects(by_subject) == ["recall"]
    assert subjects(in_globex) == ["greet"]
    assert subjects(page) + subjects(older) == subjects(everything)[:4]
    assert [b.status_code for b in bad] == [400] * 4
    event = failing[0]["run"]
    assert [a["status"] for a in event["attempts"]] == [503, 503, 503]
    assert all(a["latency_ms"] >= 0 for a in event["attempts"])
    assert event["duration_ms"] >= sum(a["latency_ms"] for a in event["attempts"])


def test_replay_as_it_was_sends_the_identical_bytes(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        first = http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"}).json()
        again = http.post(
            f"/_emulator/deliveries/{first['delivery_id']}/replay", json={"mode": "as_it_was"}
        ).json()
        [original_run] = [
            r["run"] for r in rows(http, kind="invocation") if r["run"]["replay_of"] is None
        ]

    original, replayed = command_receiver.requests
    assert replayed.body == original.body
    assert replayed.headers["x-dailybot-signature"] == original.headers["x-dailybot-signature"]
    assert again["status_code"] == 200
    assert again["delivery_id"] != first["delivery_id"]
    assert original_run["body_sha256"] == hashlib.sha256(original.body).hexdigest()


def test_replay_edited_is_a_new_delivery_with_a_fresh_token_and_timestamp(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        first = http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"}).json()
        [shown] = http.get("/_emulator/deliveries").json()
        edited_body = {**shown["body"], "query": "a c", "user_uuid": JOHN}
        edited = http.post(
            f"/_emulator/deliveries/{first['delivery_id']}/replay",
            json={"mode": "edited", "body": edited_body},
        ).json()
        item = http.get(f"/_emulator/timeline/run:{edited['delivery_id']}").json()

    original, replayed = (r.json for r in command_receiver.requests)
    assert replayed["query"] == "a c"
    assert replayed["event_timestamp"] != original["event_timestamp"]
    assert replayed["exchange_token"] not in (original["exchange_token"], "••••••")
    assert item["replay"] == {"of": first["delivery_id"], "mode": "edited"}
    # The fresh token acts as the user the edited body names.
    assert json.loads(command_receiver.requests[1].body)["user_uuid"] == JOHN


def test_replay_as_it_was_after_a_restart_sends_the_same_body_with_a_fresh_token(
    emulator_factory: Any, command_receiver: Any, tmp_path: Any
):
    from tests.emulator.emulator_process import fixtures_pointing_to

    fixtures = fixtures_pointing_to(command_receiver.url, tmp_path)
    db = str(tmp_path / "replay.db")
    first = emulator_factory(fixtures=fixtures, db=db)
    with first.client() as http:
        delivery = http.post("/_emulator/invoke", json={"intent": "recall", "query": "x"}).json()
    first.stop()
    second = emulator_factory(fixtures=fixtures, db=db)
    with second.client() as http:
        again = http.post(
            f"/_emulator/deliveries/{delivery['delivery_id']}/replay", json={"mode": "as_it_was"}
        )
        token_works = http.get(
            "/v1/platform/activity/",
            headers={
                "X-API-KEY": "local-api-key-acme-0001",
                "X-EXCHANGE-TOKEN": command_receiver.requests[1].json["exchange_token"],
            },
        )

    original, replayed = (r.json for r in command_receiver.requests)
    assert again.status_code == 200
    assert {**replayed, "exchange_token": ""} == {**original, "exchange_token": ""}
    assert replayed["exchange_token"] != original["exchange_token"]
    assert token_works.status_code == 200


def test_replay_refuses_what_it_cannot_do(wired_emulator: EmulatorProcess, command_receiver: Any):
    with wired_emulator.client() as http:
        first = http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"}).json()
        path = f"/_emulator/deliveries/{first['delivery_id']}/replay"
        answers = [
            http.post("/_emulator/deliveries/nope/replay", json={"mode": "as_it_was"}),
            http.post(path, json={"mode": "sideways"}),
            http.post(path, json={"mode": "edited"}),
            http.post(path, json={"mode": "edited", "body": [1]}),
        ]
    assert [a.status_code for a in answers] == [404, 400, 400, 400]


def test_start_as_a_new_user(wired_emulator: EmulatorProcess, command_receiver: Any):
    with wired_emulator.client() as http:
        created = http.post("/_emulator/users", json={"organization_uuid": GLOBEX})
        named = http.post(
            "/_emulator/users", json={"organization_uuid": GLOBEX, "full_name": "Ada"}
        )
        user = created.json()
        world = http.get("/_emulator/world").json()
        typed = http.post(
            "/_emulator/invoke",
            json={"intent": "greet", "user_uuid": user["uuid"], "organization_uuid": GLOBEX},
        )
        token = http.post(
            "/v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": GLOBEX_KEY},
            json={"user_uuid": user["uuid"], "include_user_context": True},
        )
        refused = [
            http.post("/_emulator/users", json={"organization_uuid": "x"}),
            http.post("/_emulator/users", json={"organization_uuid": GLOBEX, "full_name": 3}),
        ]

    assert created.status_code == 201
    assert (user["full_name"], user["timezone"], user["organization_uuid"]) == (
        "New user 1",
        "Asia/Tokyo",
        GLOBEX,
    )
    assert named.json()["full_name"] == "Ada"
    assert user["uuid"] not in (KIM, JANE)
    assert user["uuid"] in [u["uuid"] for u in world["users"]]
    assert typed.json()["status_code"] == 200
    assert command_receiver.requests[0].json["user_uuid"] == user["uuid"]
    assert token.json()["user_context"]["full_name"] == "New user 1"
    assert [r.status_code for r in refused] == [400, 400]


def test_added_users_survive_a_restart(emulator_factory: Any, tmp_path: Any):
    db = str(tmp_path / "users.db")
    first = emulator_factory(db=db)
    with first.client() as http:
        user = http.post("/_emulator/users", json={"organization_uuid": ACME}).json()
    first.stop()
    second = emulator_factory(db=db)
    with second.client() as http:
        users = http.get("/_emulator/world").json()["users"]
    assert user["uuid"] in [u["uuid"] for u in users]
