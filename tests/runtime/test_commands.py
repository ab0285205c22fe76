"""Every shipped example command, through the app, against the fake platform."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.runtime import Context
from chalicelib.runtime.intake.http import IncomingRequest
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import Poster
from tests.runtime.deliveries import encode, headers, invocation, sample
from tests.runtime.fake_platform import DELIVERED_TOKEN, FakePlatform

JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
JOHN = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
# Per-user state lives in a namespace of the user's own, never in the command's storage.
JANES_STORAGE = f"dailybot-runtime:user:{JANE}"


def test_remember_stores_the_value_with_the_delivered_token(
    deliver: Poster, platform: FakePlatform
) -> None:
    response = deliver(invocation("remember", "color deep blue"))

    assert response.status_code == 200
    assert response.json_body == {"message": "Got it: *color* is `deep blue`."}
    assert platform.storage["command"] == {"color": "deep blue"}
    sets = [c for c in platform.calls_to("platform/storage/") if c.body["op"] == "set"]
    assert sets[0].token == DELIVERED_TOKEN
    assert sets[0].body["params"] == {"key": "color", "value": "deep blue"}


def test_remember_without_a_value_explains_the_usage(deliver: Poster) -> None:
    assert "Usage" in deliver(invocation("remember", "color")).json_body["message"]


def test_recall_answers_the_stored_value_or_says_none(
    deliver: Poster, platform: FakePlatform
) -> None:
    platform.storage["command"]["color"] = "blue"

    assert deliver(invocation("recall", "color")).json_body == {"message": "*color* is `blue`."}
    assert deliver(invocation("recall", "size")).json_body == {
        "message": "Nothing is stored under *size*."
    }
    assert "Usage" in deliver(invocation("recall", "")).json_body["message"]


def test_forget_deletes_the_key(deliver: Poster, platform: FakePlatform) -> None:
    platform.storage["command"]["color"] = "blue"

    assert deliver(invocation("forget", "color")).json_body == {"message": "Forgot *color*."}
    assert platform.storage["command"] == {}
    assert "Usage" in deliver(invocation("forget", "a b")).json_body["message"]


def test_every_invocation_records_usage_once(deliver: Poster, platform: FakePlatform) -> None:
    deliver(invocation("remember", "color blue"))
    deliver(invocation("recall", "color"))

    usage = [(r["category"], r["action"], r["label"]) for r in platform.activity]
    assert usage == [("usage", "triggered", "remember"), ("usage", "triggered", "recall")]


def test_history_answers_the_last_five_records_newest_first(
    deliver: Poster, platform: FakePlatform
) -> None:
    for number in range(6):
        deliver(invocation("recall", f"key{number}"))

    message = deliver(invocation("history")).json_body["message"]

    lines = message.splitlines()
    assert lines[0] == "Last 5 activity records:"
    # The history invocation's own usage record is the newest.
    assert lines[1].endswith("usage/triggered (history)")
    assert len(lines) == 6


def test_history_with_no_activity(deliver: Poster, platform: FakePlatform) -> None:
    # The usage record fails (after the client's retries); the command still answers.
    platform.fail("platform/activity/", *[500] * 5, method="POST")

    response = deliver(invocation("history"))

    assert response.status_code == 200
    assert response.json_body == {"message": "No activity recorded yet."}


def test_standup_reminder_on_creates_an_owned_schedule_and_remembers_it(
    deliver: Poster, platform: FakePlatform
) -> None:
    response = deliver(invocation("standup-reminder", "on 0 9 * * 1-5"))

    [(uuid, schedule)] = platform.schedules.items()
    assert schedule["name"] == "standup-reminder"
    assert schedule["cron"] == "0 9 * * 1-5"
    assert schedule["is_owned_by_user"] is True
    assert uuid in response.json_body["message"]
    assert platform.storage[JANES_STORAGE] == {"standup-reminder": uuid}
    assert platform.storage["command"] == {}


def test_standup_reminder_on_twice_replaces_the_schedule(
    deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("standup-reminder", "on 0 9 * * 1-5"))
    deliver(invocation("standup-reminder", "on 30 9 * * *"))

    assert [s["cron"] for s in platform.schedules.values()] == ["30 9 * * *"]


def test_standup_reminder_off_deletes_the_schedule(deliver: Poster, platform: FakePlatform) -> None:
    deliver(invocation("standup-reminder", "on 0 9 * * 1-5"))

    response = deliver(invocation("standup-reminder", "off"))

    assert response.json_body == {"message": "Standup reminder off."}
    assert platform.schedules == {}
    assert platform.storage[JANES_STORAGE] == {}
    again = deliver(invocation("standup-reminder", "off"))
    assert again.json_body == {"message": "You have no standup reminder on."}


def test_standup_reminder_off_when_the_platform_already_forgot_it(
    deliver: Poster, platform: FakePlatform
) -> None:
    platform.storage[JANES_STORAGE]["standup-reminder"] = "gone"

    assert deliver(invocation("standup-reminder", "off")).json_body == {
        "message": "Standup reminder off."
    }


def test_one_user_cannot_reach_another_users_reminder(
    deliver: Poster, platform: FakePlatform
) -> None:
    john = {"user_uuid": JOHN, "user_full_name": "John Roe"}
    deliver(invocation("standup-reminder", "on 0 9 * * 1-5", **john))
    [johns] = platform.schedules

    # Jane tries what used to work: read John's key, plant his schedule under hers, turn off.
    peek = deliver(invocation("recall", f"standup-reminder:{JOHN}")).json_body
    deliver(invocation("remember", f"standup-reminder:{JANE} {johns}"))
    deliver(invocation("remember", f"standup-reminder {johns}"))
    off = deliver(invocation("standup-reminder", "off")).json_body

    assert johns not in peek["message"]
    assert off == {"message": "You have no standup reminder on."}
    assert list(platform.schedules) == [johns]
    assert platform.storage[f"dailybot-runtime:user:{JOHN}"] == {"standup-reminder": johns}


def test_standup_reminder_with_bad_arguments_explains(deliver: Poster) -> None:
    assert "Usage" in deliver(invocation("standup-reminder", "on 9am")).json_body["message"]


def test_standup_reminder_fires(deliver: Poster, platform: FakePlatform) -> None:
    response = deliver(sample("scheduled_standup_reminder"))

    assert response.status_code == 200
    assert "time for standup" in response.json_body["message"]
    assert [(r["category"], r["action"], r["label"]) for r in platform.activity] == [
        ("schedule", "fired", "standup-reminder")
    ]


def test_kudos_posted_counts_and_records(deliver: Poster, platform: FakePlatform) -> None:
    first = deliver(sample("event_kudos_posted"))
    deliver(sample("event_kudos_posted", body={"kudos": {"message": "again"}}))

    assert first.status_code == 200
    assert first.json_body == {"status": "accepted"}
    assert platform.storage["command"]["kudos_count"] == 2
    assert [(r["category"], r["action"]) for r in platform.activity] == [
        ("event", "kudos.posted"),
        ("event", "kudos.posted"),
    ]


def test_old_style_event_names_reach_the_same_handler(
    deliver: Poster, platform: FakePlatform
) -> None:
    deliver(sample("event_kudos_posted", event="KUDOS_POSTED"))

    assert platform.storage["command"]["kudos_count"] == 1


def test_vote_asks_with_buttons_and_a_click_records_the_vote(
    deliver: Poster, platform: FakePlatform
) -> None:
    asked = deliver(invocation("vote")).json_body
    clicked = deliver(invocation("vote", "yes")).json_body

    assert [(b["label"], b["value"]) for b in asked["buttons"]] == [
        ("Yes", "vote yes"),
        ("No", "vote no"),
    ]
    assert {b["button_type"] for b in asked["buttons"]} == {"Command"}
    assert clicked == {"message": "You voted *yes*."}
    assert platform.storage[JANES_STORAGE] == {"vote": "yes"}
    assert "Usage" in deliver(invocation("vote", "maybe")).json_body["message"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("k" * 256 + " v", "Keys are at most 255 characters."),
        ("k " + "v" * (64 * 1024), "Values are at most 64 KB."),
        ("k\ud800 v", "That text holds a character that cannot be stored."),
    ],
)
def test_remember_says_what_it_cannot_store_and_records_no_error(
    deliver: Poster, platform: FakePlatform, capsys: Any, query: str, said: str
) -> None:
    response = deliver(invocation("remember", query))

    assert response.json_body == {"message": said}
    assert [r for r in platform.activity if r["category"] == "error"] == []
    assert platform.storage["command"] == {}
    assert '"level":"ERROR"' not in capsys.readouterr().out


def test_a_platform_refusal_is_a_reply_and_a_warning_not_a_crash(
    make_runtime: Any, platform: FakePlatform, capsys: Any
) -> None:
    commands = CommandRegistry()

    @commands.command("careless")
    def careless(ctx: Context) -> str:
        ctx.storage.set("k" * 300, "unchecked")  # no check of its own: the platform refuses
        return "stored"

    @commands.command("surrogate")
    def surrogate(ctx: Context) -> str:
        ctx.storage.set("k", "\ud800")
        return "stored"

    runtime = make_runtime(commands=commands)
    refused = runtime.intake.handle(IncomingRequest.of(encode(invocation("careless")), headers()))
    unsendable = runtime.intake.handle(
        IncomingRequest.of(encode(invocation("surrogate")), headers())
    )

    assert refused.status == 200
    assert refused.body["message"] == (
        "Sorry, *careless* could not do that: "
        "the platform refused it ('params.key' is longer than 255.)."
    )
    assert unsendable.body["message"] == (
        "Sorry, *surrogate* could not do that: the text holds characters that cannot be sent."
    )
    assert [r for r in platform.activity if r["category"] == "error"] == []
    out = capsys.readouterr().out
    assert '"level":"ERROR"' not in out
    assert "Traceback" not in out
    assert out.count("the platform refused the handler's request") == 2
