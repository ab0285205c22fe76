"""What the playground reads: the control views of the state, the richer delivery records, the
recorded messages, case-insensitive intents, ``limit`` on the activity list, and the page itself.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.playground_page import PAGE_DIR
from tests.emulator.emulator_process import EmulatorProcess, as_user, fixtures_pointing_to
from tests.emulator.emulator_world import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_SIGNATURE,
    GLOBEX,
    GLOBEX_KEY,
    JANE,
    JOHN,
)


def test_intents_match_case_insensitively_and_a_refusal_names_the_known_ones(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        shouted = http.post("/_emulator/invoke", json={"intent": "REMEMBER", "query": "a b"})
        unknown = http.post("/_emulator/invoke", json={"intent": "dance"})
        in_globex = http.post(
            "/_emulator/invoke", json={"intent": "dance", "organization_uuid": GLOBEX}
        )

    assert shouted.json()["status_code"] == 200
    assert command_receiver.requests[0].json["intent"] == "REMEMBER"  # the word as typed
    assert command_receiver.requests[0].path == "/acme"
    assert unknown.status_code == 404
    refusal = unknown.json()
    assert refusal["code"] == "unknown_intent"
    assert "remember" in refusal["known_intents"]
    assert "greet" in refusal["known_intents"]
    assert "Known intents: " in refusal["detail"]
    assert "recall" in refusal["detail"]
    assert in_globex.json()["known_intents"] == ["greet"]


def test_two_commands_of_one_organization_may_not_share_an_intent_in_another_case(
    emulator_factory: Any, tmp_path: Path
):
    path = fixtures_pointing_to("http://127.0.0.1:9", tmp_path)
    world = json.loads(path.read_text())
    world["commands"][1].update(organization_uuid=ACME, intent="Remember")
    world["api_keys"] = world["api_keys"][:1]
    path.write_text(json.dumps(world))
    with pytest.raises(RuntimeError, match="intent 'Remember' already used"):
        emulator_factory(fixtures=path)


def test_deliveries_say_what_was_delivered_with_the_token_masked(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    command_receiver.reply = {"message": "done *now*"}
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post(
            "/v1/platform/event-subscription/",
            headers=jane,
            json={"subscriptions": ["kudos.posted"]},
        )
        http.post(
            "/v1/platform/scheduling/",
            headers=jane,
            json={"name": "nightly", "cron": "* * * * *"},
        )
        http.post("/_emulator/invoke", json={"intent": "recall", "query": "color"})
        http.post("/_emulator/events", json={"organization_uuid": ACME, "event": "kudos.posted"})
        http.post("/_emulator/clock/advance", json={"seconds": 60})
        response = http.get("/_emulator/deliveries")

    deliveries = response.json()
    assert [(d["kind"], d["subject"]) for d in deliveries] == [
        ("invocation", "recall"),
        ("event", "kudos.posted"),
        ("scheduled_execution", "nightly"),
    ]
    for delivery, request in zip(deliveries, command_receiver.requests, strict=True):
        assert delivery["reply"] == {"message": "done *now*"}
        assert delivery["latency_ms"] >= 0
        assert delivery["body"]["exchange_token"] == "••••••"
        assert {**delivery["body"], "exchange_token": "x"} == {
            **request.json,
            "exchange_token": "x",
        }
        assert request.json["exchange_token"] not in response.text
    assert ACME_SIGNATURE not in response.text


def test_the_state_views_show_everything_without_a_token(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        john = as_user(http, JOHN)
        http.post(
            "/v1/platform/storage/",
            headers=john,
            json={"op": "set", "params": {"key": "color", "value": "<script>x</script>"}},
        )
        http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": ACME_KEY},
            json={"op": "set", "namespace": "team:a", "params": {"key": "k", "value": [1]}},
        )
        http.post("/v1/platform/activity/", headers=john, json={"category": "c", "action": "a"})
        http.post("/v1/platform/activity/", headers=john, json={"category": "c", "action": "b"})
        http.post(
            "/v1/platform/event-subscription/",
            headers=john,
            json={"subscriptions": ["KUDOS_POSTED"], "subscribed_objects": ["o1"]},
        )
        schedule_uuid = http.post(
            "/v1/platform/scheduling/",
            headers=john,
            json={
                "name": "morning",
                "cron": "0 9 * * *",
                "timezone_type": "user_timezone",
                "repeats": 3,
            },
        ).json()["uuid"]

        world = http.get("/_emulator/world")
        storage = http.get("/_emulator/storage").json()
        activity = http.get("/_emulator/activity").json()
        newest = http.get("/_emulator/activity", params={"limit": 1}).json()
        hooks = http.get("/_emulator/hooks").json()
        [schedule] = http.get("/_emulator/schedules").json()
        fired = http.post(f"/_emulator/schedules/{schedule_uuid}/fire", json={})
        [after_firing] = http.get("/_emulator/schedules").json()
        missing = http.post(
            "/_emulator/schedules/00000000-0000-4000-8000-000000000000/fire", json={}
        )
        malformed = http.post("/_emulator/schedules/nope/fire", json={})

    assert world.json()["clock"] == "virtual"
    assert [o["uuid"] for o in world.json()["organizations"]] == [ACME, GLOBEX]
    assert "kudos.posted" in world.json()["events"]
    assert {"uuid", "intent", "aliases", "url"} <= set(world.json()["commands"][0])
    assert ACME_SIGNATURE not in world.text
    assert ACME_KEY not in world.text
    assert storage == [
        {
            "scope": "command",
            "organization_uuid": ACME,
            "command_uuid": ACME_COMMAND,
            "namespace": None,
            "key": "color",
            "value": "<script>x</script>",
        },
        {
            "scope": "namespace",
            "organization_uuid": ACME,
            "command_uuid": None,
            "namespace": "team:a",
            "key": "k",
            "value": [1],
        },
    ]
    assert [(r["action"], r["user"], r["command"]) for r in activity] == [
        ("b", JOHN, ACME_COMMAND),
        ("a", JOHN, ACME_COMMAND),
    ]
    assert [r["action"] for r in newest] == ["b"]
    assert hooks == [
        {
            "hook_uuid": hooks[0]["hook_uuid"],
            "command_uuid": ACME_COMMAND,
            "organization_uuid": ACME,
            "user_uuid": JOHN,
            "subscriptions": ["kudos.posted"],
            "subscribed_objects": ["o1"],
        }
    ]
    # John lives in New York: the cron is read there, and the page shows his local time.
    assert schedule["timezone"] == "America/New_York"
    assert schedule["next_fire_local"].startswith(schedule["next_fire_local"][:11])
    assert schedule["next_fire_local"][11:19] == "09:00:00"
    assert schedule["next_fire_local"][-6:] in ("-05:00", "-04:00")
    assert (schedule["runs_left"], schedule["executions"], schedule["is_active"]) == (3, 0, True)
    assert schedule["user_uuid"] == JOHN
    assert fired.status_code == 200
    assert fired.json()["status_code"] == 200
    assert command_receiver.requests[-1].json["scheduled_execution"]["name"] == "morning"
    # Firing now is an extra run: the schedule's timing and count stay.
    assert after_firing == schedule
    assert missing.status_code == 404
    assert malformed.status_code == 404


def test_reset_forgets_the_state_but_keeps_the_world_and_clock(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post(
            "/v1/platform/storage/",
            headers=jane,
            json={"op": "set", "params": {"key": "k", "value": 1}},
        )
        http.post("/v1/platform/activity/", headers=jane, json={"category": "c", "action": "a"})
        http.post(
            "/v1/platform/event-subscription/",
            headers=jane,
            json={"subscriptions": ["kudos.posted"]},
        )
        http.post("/v1/platform/scheduling/", headers=jane, json={"name": "s", "cron": "* * * * *"})
        http.post("/v1/send-message/", headers=jane, json={"message": "hi"})
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"})
        http.post("/_emulator/faults", json={"path": "/v1/", "status": 500})
        http.post("/_emulator/clock/advance", json={"seconds": 5})
        before = http.get("/_emulator/clock").json()

        assert http.post("/_emulator/reset", json={}).status_code == 204

        for view in (
            "storage",
            "activity",
            "hooks",
            "schedules",
            "deliveries",
            "messages",
            "faults",
        ):
            assert http.get(f"/_emulator/{view}").json() == [], view
        assert http.get("/_emulator/clock").json() == before
        # The token issued before the reset still works.
        assert http.get("/v1/platform/activity/", headers=jane).json() == []


def test_the_platform_activity_list_honours_limit(emulator: EmulatorProcess):
    with emulator.client() as http:
        john = as_user(http, JOHN)
        for action in ("first", "second", "third"):
            http.post(
                "/v1/platform/activity/",
                headers=john,
                json={"category": "limit-test", "action": action},
            )
        two = http.get("/v1/platform/activity/", headers=john, params={"limit": 2})
        everything = http.get("/v1/platform/activity/", headers=john)
        refused = [
            http.get("/v1/platform/activity/", headers=john, params={"limit": bad})
            for bad in ("0", "-1", "x", "2.5", "10001")
        ]

    assert [r["action"] for r in two.json()] == ["third", "second"]
    assert len(everything.json()) >= 3
    for response in refused:
        assert response.status_code == 400
        assert "limit" in response.json()["details"]


def test_messages_record_what_send_message_received_newest_last(emulator: EmulatorProcess):
    buttons = [{"label": "Yes", "value": "vote yes", "button_type": "Command"}]
    with emulator.client() as http:
        jane = as_user(http, JANE)
        first = http.post(
            "/v1/send-message/",
            headers=jane,
            json={
                "message": "first *one*",
                "buttons": buttons,
                "image_url": "https://x.test/a.png",
            },
        ).json()
        second = http.post(
            "/v1/send-message/",
            headers={"X-API-KEY": GLOBEX_KEY},
            json={"message": "second", "target_channels": ["general"]},
        ).json()
        messages = http.get("/_emulator/messages").json()

    by_id = {m["id"]: m for m in messages}
    assert [m["id"] for m in messages] == sorted(by_id)
    assert messages[-1]["id"] == second["id"]
    assert by_id[first["id"]] == {
        "id": first["id"],
        "organization_uuid": ACME,
        "command_uuid": ACME_COMMAND,
        "user_uuid": JANE,
        "created_at": by_id[first["id"]]["created_at"],
        "message": "first *one*",
        "image_url": "https://x.test/a.png",
        "buttons": buttons,
        "target_users": [JANE],
        # sent without the correlation headers a runtime adds: shown unlinked
        "correlation_id": None,
        "job": None,
        "job_id": None,
    }
    assert by_id[first["id"]]["created_at"].endswith("Z")
    assert by_id[second["id"]]["target_channels"] == ["general"]
    assert by_id[second["id"]]["user_uuid"] is None
    assert by_id[second["id"]]["organization_uuid"] == GLOBEX


def test_a_caller_hanging_up_during_an_injected_delay_leaves_no_traceback(
    emulator_factory: Any,
):
    handle = emulator_factory()
    with handle.client() as http:
        http.post("/_emulator/faults", json={"path": "/v1/", "delay_ms": 800, "times": 2})
        for path in ("/v1/platform/storage/", "/v1/send-message/"):
            with pytest.raises(httpx.ReadTimeout):
                http.post(
                    path,
                    headers={"X-API-KEY": ACME_KEY},
                    json={"op": "get", "params": {"key": "k"}, "namespace": "n"},
                    timeout=0.2,
                )
        time.sleep(1.0)  # both stalls end and the handlers notice the callers are gone
        assert http.get("/_emulator/health").status_code == 200
    log = handle.log()
    assert "hung up" in log
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


def test_an_older_database_gains_the_new_delivery_columns(
    emulator_factory: Any, command_receiver: Any, tmp_path: Path
):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.execute(
            "CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT"
            " NULL, kind TEXT NOT NULL, url TEXT NOT NULL, attempt INTEGER NOT NULL, status"
            " INTEGER, error TEXT, body_sha256 TEXT NOT NULL, at REAL NOT NULL)"
        )
        old.execute(
            "INSERT INTO deliveries (delivery_id, kind, url, attempt, status, body_sha256, at)"
            " VALUES ('d0', 'invocation', 'http://127.0.0.1:9/', 1, 200, 'abc', 0)"
        )
    handle = emulator_factory(
        fixtures=fixtures_pointing_to(command_receiver.url, tmp_path), db=str(db)
    )
    with handle.client() as http:
        http.post("/_emulator/invoke", json={"intent": "recall", "query": "x"})
        old_record, new_record = http.get("/_emulator/deliveries").json()
    assert (old_record["subject"], old_record["body"], old_record["reply"]) == (None, None, None)
    assert new_record["subject"] == "recall"


def test_the_page_is_served_from_the_emulator_with_nothing_from_elsewhere(
    emulator: EmulatorProcess,
):
    with emulator.client() as http:
        page = http.get("/")
        assets = [http.get(f"/playground/{path.name}") for path in sorted(PAGE_DIR.iterdir())]
        missing = http.get("/playground/nothing.js")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]  # no inline scripts
    assert {a.status_code for a in assets} == {200}
    for response in (page, *assets):
        assert not re.search(r"(src|href)=\"(https?:)?//", response.text)
        assert "://" not in response.text, "no page file may fetch from another host"
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
