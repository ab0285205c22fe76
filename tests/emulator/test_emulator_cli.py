"""`python -m emulator trigger` and `python -m emulator invoke` against a running emulator: what
they send, what they print, and one clear line (no traceback) for every failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.emulator_process import EmulatorProcess, as_user
from tests.emulator.emulator_world import ACME_KEY, GLOBEX_KEY, JANE, JOHN, KIM
from tests.servers import ROOT, free_port


def cli(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    where = ["--url", url] if url else []
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args, *where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_failure(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("emulator: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert text in result.stderr, result.stderr


def subscribe(handle: EmulatorProcess, user: str = JANE, key: str = ACME_KEY) -> None:
    with handle.client() as http:
        answer = http.post(
            "/v1/platform/event-subscription/",
            headers=as_user(http, user, key),
            json={"subscriptions": ["kudos.posted", "organization.user_activated"]},
        )
        assert answer.status_code == 200


def test_trigger_sends_the_example_body_and_says_what_answered(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    subscribe(wired_emulator)
    command_receiver.reply = {"message": "Kudos counted"}

    result = cli("trigger", "KUDOS_POSTED", url=wired_emulator.base_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "kudos.posted published in Acme: 1 hook(s) called",
        "  remember: 200 Kudos counted",
    ]
    [delivery] = command_receiver.bodies()
    kudos = delivery["body"]["kudos"]
    assert (kudos["from"], kudos["to"]) == (JANE, [JOHN])
    assert kudos["message"] == "Thanks John for unblocking the release!"
    with wired_emulator.client() as http:
        shown = http.get("/_emulator/event-examples").json()["kudos.posted"]
    assert {**shown, "kudos": {**shown["kudos"], "created_at": ""}} == {
        **delivery["body"],
        "kudos": {**kudos, "created_at": ""},
    }


def test_trigger_takes_a_body_an_organization_by_name_and_a_file(
    wired_emulator: EmulatorProcess, command_receiver: Any, tmp_path: Path
):
    subscribe(wired_emulator, KIM, GLOBEX_KEY)
    (tmp_path / "body.json").write_text(json.dumps({"user": {"uuid": KIM}}))

    inline = cli(
        "trigger",
        "organization.user_activated",
        "--organization",
        "globex",
        "--body",
        '{"note": "inline"}',
        url=wired_emulator.base_url,
    )
    from_file = cli(
        "trigger",
        "organization.user_activated",
        "--organization",
        "22222222-2222-4222-8222-222222222222",
        "--body",
        f"@{tmp_path / 'body.json'}",
        url=wired_emulator.base_url,
    )
    nobody = cli("trigger", "forms.response.created", url=wired_emulator.base_url)

    assert (inline.returncode, from_file.returncode) == (0, 0)
    assert [b["body"] for b in command_receiver.bodies()] == [
        {"note": "inline"},
        {"user": {"uuid": KIM}},
    ]
    assert nobody.returncode == 0
    assert "no hook is subscribed to it" in nobody.stdout


def test_trigger_exits_non_zero_when_the_command_fails(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    subscribe(wired_emulator)
    command_receiver.answer_next(500, 500, 500)
    result = cli("trigger", "kudos.posted", url=wired_emulator.base_url)
    assert result.returncode == 1
    assert "  remember: 500" in result.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("trigger", "kudos.given"), "unknown event 'kudos.given'; known: "),
        (("trigger", "kudos.posted", "--body", "{oops"), "--body is not valid JSON"),
        (("trigger", "kudos.posted", "--body", "[1]"), "--body must be a JSON object"),
        (("trigger", "kudos.posted", "--body", "@/nonexistent/x.json"), "cannot read"),
        (("trigger", "kudos.posted", "--organization", "Initech"), "no organization 'Initech'"),
        (("invoke", "remember a b", "--user", "Zed"), "no user 'Zed'; known: Jane Doe"),
        (("invoke", "dance"), "the emulator refused it (404 unknown_intent): No command"),
        (("invoke", "  "), "type a command"),
    ],
)
def test_every_failure_is_one_clear_line(
    wired_emulator: EmulatorProcess, args: tuple[str, ...], text: str
):
    one_line_failure(cli(*args, url=wired_emulator.base_url), text)


def test_an_emulator_that_is_not_running_is_one_clear_line():
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("trigger", "kudos.posted"), ("invoke", "remember a b")):
        one_line_failure(cli(*args, url=url), f"cannot reach the emulator at {url}")


def test_replay_sends_a_delivery_again_as_it_was_or_edited(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    first = json.loads(cli("invoke", "remember a b", "--json", url=wired_emulator.base_url).stdout)

    again = cli("replay", first["delivery_id"], url=wired_emulator.base_url)
    edited_body = {**command_receiver.requests[0].json, "query": "a c"}
    edited = cli(
        "replay",
        first["delivery_id"],
        "--body",
        json.dumps(edited_body),
        url=wired_emulator.base_url,
    )
    unknown = cli("replay", "nope", url=wired_emulator.base_url)

    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("replayed as it was as ")
    original, repeated, changed = command_receiver.requests
    assert repeated.body == original.body
    assert edited.returncode == 0, edited.stderr
    assert changed.json["query"] == "a c"
    assert changed.json["event_timestamp"] != original.json["event_timestamp"]
    one_line_failure(unknown, "the emulator refused it (404 not_found)")


def test_invoke_types_as_a_user_and_prints_the_reply(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    command_receiver.reply = {
        "message": "Shall we ship it?",
        "buttons": [{"label": "Yes", "value": "vote yes", "button_type": "Command"}],
    }
    by_name = cli("invoke", "vote", "--user", "john roe", url=wired_emulator.base_url)
    by_first_name = cli("invoke", "remember a b", "--user", "Kim", url=wired_emulator.base_url)
    as_json = cli("invoke", "vote", "--json", url=wired_emulator.base_url)
    command_receiver.answer_next(500, 500, 500)
    failing = cli("invoke", "vote", url=wired_emulator.base_url)

    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout.splitlines() == ["Shall we ship it?", "  [Yes] runs: vote yes"]
    bodies = command_receiver.bodies()
    assert bodies[0]["user_uuid"] == JOHN
    assert by_first_name.returncode == 1  # Kim's organization has no `remember`
    assert "refused" in by_first_name.stderr
    assert json.loads(as_json.stdout)["reply"]["message"] == "Shall we ship it?"
    assert bodies[1]["user_uuid"] == JANE
    one_line_failure(failing, "the command answered 500")
