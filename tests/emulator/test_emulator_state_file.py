"""State in and out: `--export-on-exit` writes the whole state when the emulator stops (SIGTERM
or Ctrl-C), `--import` starts from it, `GET /_emulator/state` downloads it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.emulator_process import DEFAULT_FIXTURES, ROOT, as_user, fixtures_pointing_to
from tests.emulator.emulator_world import ACME, JANE
from tests.servers import free_port


def build_scenario(http: Any) -> dict[str, Any]:
    """A stored value, a schedule, a hook, activity, a message, a user, a fault, the clock."""
    jane = as_user(http, JANE)
    http.post(
        "/v1/platform/storage/",
        headers=jane,
        json={"op": "set", "params": {"key": "color", "value": {"name": "blue", "n": [1, 2]}}},
    )
    schedule = http.post(
        "/v1/platform/scheduling/",
        headers=jane,
        json={"name": "standup", "cron": "0 9 * * 1-5", "payload": {"team": "core"}},
    ).json()["uuid"]
    http.post(
        "/v1/platform/event-subscription/", headers=jane, json={"subscriptions": ["kudos.posted"]}
    )
    http.post("/v1/platform/activity/", headers=jane, json={"category": "usage", "action": "tried"})
    http.post("/v1/send-message/", headers=jane, json={"message": "kept *too*"})
    user = http.post("/_emulator/users", json={"organization_uuid": ACME}).json()["uuid"]
    http.post("/_emulator/invoke", json={"intent": "remember", "query": "color blue"})
    http.post("/_emulator/faults", json={"path": "/v1/platform/scheduling/", "status": 503})
    clock = http.post("/_emulator/clock/advance", json={"seconds": 3600}).json()["now"]
    return {"schedule": schedule, "user": user, "clock": clock}


def read_back(http: Any) -> dict[str, Any]:
    return {
        "storage": http.get("/_emulator/storage").json(),
        "schedules": http.get("/_emulator/schedules").json(),
        "hooks": http.get("/_emulator/hooks").json(),
        "activity": http.get("/_emulator/activity").json(),
        "messages": http.get("/_emulator/messages").json(),
        "users": http.get("/_emulator/world").json()["users"],
        "faults": http.get("/_emulator/faults").json(),
        "clock": http.get("/_emulator/clock").json(),
        "timeline": http.get("/_emulator/timeline").json()["items"],
    }


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_export_on_exit_then_import_brings_the_scenario_back(
    emulator_factory: Any, command_receiver: Any, tmp_path: Path, stop_signal: signal.Signals
):
    fixtures = fixtures_pointing_to(command_receiver.url, tmp_path)
    saved = tmp_path / "scenario" / "state.json"
    first = emulator_factory(fixtures=fixtures, extra_args=["--export-on-exit", str(saved)])
    # The playground's stream is open: stopping must not wait for it.
    with first.client() as http, http.stream("GET", "/_emulator/stream") as events:
        next(events.iter_lines())
        scenario = build_scenario(http)
        before = read_back(http)
        first.process.send_signal(stop_signal)
        assert first.process.wait(timeout=15) is not None
    assert saved.exists(), first.log()
    assert "Traceback" not in first.log()

    second = emulator_factory(fixtures=fixtures, db=":memory:", extra_args=["--import", str(saved)])
    with second.client() as http:
        after = read_back(http)
        stored = http.post(
            "/v1/platform/storage/",
            headers=as_user(http, JANE),
            json={"op": "get", "params": {"key": "color"}},
        )

    assert after == before
    assert stored.json() == {"color": {"name": "blue", "n": [1, 2]}}
    [schedule] = after["schedules"]
    assert (schedule["uuid"], schedule["name"]) == (scenario["schedule"], "standup")
    assert schedule["next_fire_at"] is not None
    assert after["clock"]["now"] == scenario["clock"]
    assert scenario["user"] in [u["uuid"] for u in after["users"]]
    assert [(i["kind"], i["subject"]) for i in after["timeline"]] == [
        ("message", None),
        ("invocation", "remember"),
    ]


def test_the_downloaded_state_imports_too(emulator_factory: Any, tmp_path: Path):
    first = emulator_factory()
    with first.client() as http:
        build_scenario(http)
        before = read_back(http)
        download = http.get("/_emulator/state")
    assert download.headers["content-disposition"].startswith("attachment")
    document = download.json()
    assert document["format"] == "dailybot-emulator-state"
    assert document["tables"]["storage"][0]["value"] == {"name": "blue", "n": [1, 2]}
    assert [run["body"]["exchange_token"] for run in document["tables"]["runs"]] == ["••••••"]
    path = tmp_path / "downloaded.json"
    path.write_text(download.text)

    second = emulator_factory(db=":memory:", extra_args=["--import", str(path)])
    with second.client() as http:
        assert read_back(http) == before


def test_import_replaces_what_the_database_held(emulator_factory: Any, tmp_path: Path):
    source = emulator_factory()
    with source.client() as http:
        http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": "local-api-key-acme-0001"},
            json={"op": "set", "namespace": "n", "params": {"key": "from-file", "value": 1}},
        )
        (tmp_path / "file.json").write_text(http.get("/_emulator/state").text)
    db = str(tmp_path / "target.db")
    target = emulator_factory(db=db)
    with target.client() as http:
        http.post(
            "/v1/platform/storage/",
            headers={"X-API-KEY": "local-api-key-acme-0001"},
            json={"op": "set", "namespace": "n", "params": {"key": "was-here", "value": 2}},
        )
    target.stop()
    again = emulator_factory(db=db, extra_args=["--import", str(tmp_path / "file.json")])
    with again.client() as http:
        assert [e["key"] for e in http.get("/_emulator/storage").json()] == ["from-file"]


STATE = '{"format": "dailybot-emulator-state", "version": 1, '


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "emulator", "serve", "--port", str(free_port()),
            "--fixtures", str(DEFAULT_FIXTURES), "--db", ":memory:", *args,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not valid JSON"),
        ('{"format": "something-else"}', "is not an emulator state"),
        ('{"format": "dailybot-emulator-state", "version": 9}', "has version 9"),
        (STATE + '"tables": {"passwords": []}}', "unknown tables: passwords"),
        (
            STATE + '"tables": {"storage": [{"nope": 1}]}}',
            "tables.storage[0]: unknown columns nope",
        ),
        (STATE + '"tables": {"storage": [{"key": "k"}]}}', "does not fit its table"),
        (STATE + '"tables": {}, "clock": {"now": "x"}}', "'clock.now' must be a number"),
        (STATE + '"tables": {}, "faults": [{"path": 1}]}', "faults[0]"),
    ],
)
def test_a_bad_state_file_stops_start_up_with_one_clear_line(
    tmp_path: Path, content: str | None, message: str
):
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    result = serve("--import", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("emulator: cannot import the state: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_export_path_that_cannot_be_written_stops_start_up(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = serve("--export-on-exit", str(blocker / "state.json"))
    assert result.returncode == 2
    assert result.stderr.startswith("emulator: --export-on-exit: cannot create")
    assert "Traceback" not in result.stderr
