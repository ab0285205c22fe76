"""Shipped commands in cases the test kit cannot set up, against the fake platform.

Their ordinary behaviour is tested through the kit (`tests/commands/`); these need a
delivery, a platform state or an answer that Dailybot itself would not produce on demand.
"""

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

    assert response.json_body == {"message": "Got it: *color* is `deep blue`."}
    sets = [c for c in platform.calls_to("platform/storage/") if c.body["op"] == "set"]
    assert sets[0].token == DELIVERED_TOKEN
    assert sets[0].body["params"] == {"key": "color", "value": "deep blue"}


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


def test_old_style_event_names_reach_the_same_handler(
    deliver: Poster, platform: FakePlatform
) -> None:
    deliver(sample("event_kudos_posted", event="KUDOS_POSTED"))

    assert platform.storage["command"]["kudos_count"] == 1


def test_a_scheduled_run_without_its_owner_still_answers(
    deliver: Poster, platform: FakePlatform
) -> None:
    body = sample("scheduled_standup_reminder")
    for name in ("user_uuid", "user_full_name", "user_context"):
        del body[name]

    response = deliver(body)

    assert response.status_code == 200
    assert "Hi there" in response.json_body["message"]


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
