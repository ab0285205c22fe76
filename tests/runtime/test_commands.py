"""Shipped commands in cases the test kit cannot set up, against the fake platform.

Their ordinary behaviour is tested through the kit (`tests/commands/`); these need a
delivery or a platform state that Dailybot itself would not produce on demand.
"""

from __future__ import annotations

from tests.runtime.conftest import Poster
from tests.runtime.deliveries import invocation, sample
from tests.runtime.fake_platform import DELIVERED_TOKEN, FakePlatform


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
    platform.storage["command"]["standup-reminder:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"] = "gone"

    assert deliver(invocation("standup-reminder", "off")).json_body == {
        "message": "Standup reminder off."
    }


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
