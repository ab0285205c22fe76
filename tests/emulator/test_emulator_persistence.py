"""A restart with the same ``--db`` keeps schedules, storage, activity, hooks, tokens and time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.emulator.emulator_process import fixtures_pointing_to
from tests.emulator.emulator_world import ACME, ACME_KEY, JOHN

TOKEN_PATH = "/v1/auth/fetch-command-exchange-token/"


def test_a_restart_keeps_everything(emulator_factory: Any, command_receiver: Any, tmp_path: Path):
    fixtures = fixtures_pointing_to(command_receiver.url, tmp_path)
    db = str(tmp_path / "kept.db")
    first = emulator_factory(fixtures=fixtures, db=db)
    with first.client() as http:
        token = http.post(
            TOKEN_PATH, headers={"X-API-KEY": ACME_KEY}, json={"user_uuid": JOHN}
        ).json()["token"]
        headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": token}
        schedule_uuid = http.post(
            "/v1/platform/scheduling/",
            headers=headers,
            json={"name": "kept", "execution_frequency": 20, "payload": {"a": 1}},
        ).json()["uuid"]
        http.post(
            "/v1/platform/storage/",
            headers=headers,
            json={"op": "set", "params": {"key": "color", "value": "blue"}},
        )
        http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": ACME_KEY},
            json={"op": "set", "namespace": "team", "params": {"key": "k", "value": [1]}},
        )
        http.post(
            "/v1/platform/activity/",
            headers=headers,
            json={"category": "usage", "action": "triggered"},
        )
        hook = http.post(
            "/v1/platform/event-subscription/",
            headers=headers,
            json={"subscriptions": ["kudos.posted"]},
        ).json()["hook_uuid"]
        http.post("/v1/send-message/", headers=headers, json={"message": "kept"})
        clock = http.post("/_emulator/clock/advance", json={"seconds": 600}).json()["now"]
        schedule_before = http.get(
            f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers
        ).json()
        activity_before = http.get("/v1/platform/activity/", headers=headers).json()
    first.stop()

    second = emulator_factory(fixtures=fixtures, db=db)
    with second.client() as http:
        assert http.get("/_emulator/clock").json()["now"] == clock
        got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers)
        assert got.status_code == 200  # the token survived too
        assert got.json() == schedule_before
        assert http.post(
            "/v1/platform/storage/", headers=headers, json={"op": "get", "params": {"key": "color"}}
        ).json() == {"color": "blue"}
        assert http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": ACME_KEY},
            json={"op": "get", "namespace": "team", "params": {"key": "k"}},
        ).json() == {"k": [1]}
        assert http.get("/v1/platform/activity/", headers=headers).json() == activity_before
        assert [m["message"] for m in http.get("/_emulator/messages").json()] == ["kept"]
        again = http.post(
            "/v1/platform/event-subscription/",
            headers=headers,
            json={"subscriptions": ["kudos.posted"]},
        ).json()["hook_uuid"]
        assert again == hook
        assert (
            http.post(
                "/_emulator/events",
                json={"organization_uuid": ACME, "event": "kudos.posted", "body": {}},
            ).json()["deliveries"]
            == 1
        )
        # The schedule keeps its next fire time: ten more minutes complete its 20.
        assert http.post("/_emulator/clock/advance", json={"seconds": 600}).json()["fired"] == 1
    kinds = [b.get("event") or "scheduled" for b in command_receiver.bodies()]
    assert kinds == ["kudos.posted", "scheduled"]


def test_memory_database_starts_empty(emulator_factory: Any):
    handle = emulator_factory(db=":memory:")
    with handle.client() as http:
        assert http.get("/_emulator/deliveries").json() == []
        assert http.get("/_emulator/messages").json() == []
