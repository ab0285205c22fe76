"""The kit itself: what `dailybot` shows of deliveries, calls, messages and faults, its errors,
and the plugin's failure report, log audit and fixtures option."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.dailybot.models import OutgoingMessage
from chalicelib.redaction import REDACTED
from chalicelib.runtime import Button, Context, Reply
from chalicelib.runtime.registry import CommandRegistry
from testkit import Dailybot, KitError, open_dailybot
from testkit.deployment import Deployment
from testkit.world import DEFAULT_FIXTURES, load_kit_world


def test_deliveries_show_what_was_sent_and_answered_without_tokens(dailybot: Dailybot) -> None:
    dailybot.invoke("remember color blue")
    dailybot.fire_event("kudos.posted", {})

    invocation, event = dailybot.deliveries

    assert (invocation.kind, invocation.status, invocation.attempt) == ("invocation", 200, 1)
    assert invocation.body["query"] == "color blue"
    assert invocation.body["exchange_token"] == REDACTED
    assert invocation.reply.message == "Got it: *color* is `blue`."
    assert (event.kind, event.answer) == ("event", {"status": "accepted"})
    assert event.reply.message == ""
    assert "'remember color blue' by Jane Doe -> 200 Got it" in invocation.summary()


def test_a_fault_is_retried_by_the_runtime_and_shows_in_the_calls(dailybot: Dailybot) -> None:
    dailybot.fail("platform/storage/", 503, times=2)

    assert dailybot.invoke("recall color").message == "Nothing is stored under *color*."
    storage = [c.status for c in dailybot.calls if c.path == "/v1/platform/storage/"]
    first_fault = storage.index(503)
    assert storage[first_fault : first_fault + 3] == [503, 503, 200]
    assert "injected_fault" in dailybot.describe()


def test_token_fetches_hide_the_token(dailybot: Dailybot) -> None:
    fetches = [c for c in dailybot.calls if c.path.startswith("/v1/auth/")]

    assert fetches, "registration fetches a token for the owner"
    assert all(c.response["token"] == REDACTED for c in fetches)
    assert all(token not in dailybot.describe() for token in dailybot.secrets())


def test_users_are_named_by_object_uuid_or_full_name(dailybot: Dailybot) -> None:
    jane, john, kim = dailybot.users

    assert dailybot.user == jane
    assert dailybot.invoke("vote yes", user=john.uuid).message == "You voted *yes*."
    assert dailybot.user_storage(john)["vote"] == "yes"
    with pytest.raises(KitError, match="no fixture user 'Nobody'"):
        dailybot.invoke("vote", user="Nobody")
    assert kim.organization_uuid != jane.organization_uuid


def test_what_the_kit_refuses(dailybot: Dailybot) -> None:
    with pytest.raises(KitError, match="needs a command"):
        dailybot.invoke("  ")
    with pytest.raises(KitError, match="unknown_intent"):
        dailybot.invoke("launch rockets")
    with pytest.raises(KitError, match="only moves forward"):
        dailybot.advance(hours=-1)
    with pytest.raises(KitError, match="runs no command"):
        dailybot.click(Button(label="Docs", value="https://example.test", button_type="Link"))
    with pytest.raises(KitError, match="refused POST /_emulator/faults"):
        dailybot.fail("/v1/platform/storage/", 404)


def test_advance_answers_nothing_when_nothing_is_due(dailybot: Dailybot) -> None:
    before = dailybot.now

    replies = dailybot.advance(minutes=1)

    # Only the daily digest is declared: it fires in this minute one minute a weekday.
    assert all("Daily digest" in reply.message for reply in replies)
    assert (dailybot.now - before).total_seconds() == 60


# -- a deployment of the test's own ------------------------------------------------------------


@pytest.fixture
def messenger(pytestconfig: pytest.Config) -> Iterator[Dailybot]:
    """The kit around the app with a registry of one command that sends follow-ups."""
    registry = CommandRegistry()

    @registry.command("remember")
    def tell(ctx: Context) -> Reply:
        """Sends the text to John as a follow-up"""
        ctx.messages.send(
            OutgoingMessage(
                ctx.text,
                target_users=("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",),
                buttons=(Button(label="Ack", value="remember ack"),),
            )
        )
        return Reply("sent", image_url="https://example.test/sent.png")

    deployment = Deployment.from_module("app").with_registry(registry)
    world = load_kit_world(DEFAULT_FIXTURES, registry.commands())
    with open_dailybot(deployment, world) as kit:
        yield kit


def test_messages_show_follow_ups_with_their_targets(messenger: Dailybot) -> None:
    reply = messenger.invoke("remember weekly report is ready")

    [sent] = messenger.messages
    assert reply.image_url == "https://example.test/sent.png"
    assert sent.message == "weekly report is ready"
    assert sent.target_users == ("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",)
    assert [b.value for b in sent.buttons] == ["remember ack"]
    assert sent.sender == messenger.user.uuid
    assert messenger.schedules == []


# -- the plugin, seen from a test session of its own -------------------------------------------


def test_a_failing_kit_test_shows_what_the_platform_saw(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wrong(dailybot):
            dailybot.invoke("remember color blue")
            assert dailybot.invoke("recall color").message == "nope"
        """
    )

    result = pytester.runpytest_inprocess("-p", "testkit.plugin")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*what the Dailybot platform saw*",
            "*invocation 'recall color' by Jane Doe -> 200 *color* is `blue`.*",
            "*POST /v1/platform/storage/ -> 200*",
        ]
    )


def test_a_secret_in_a_log_line_fails_the_kit_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import logging

        def test_leaky(dailybot):
            # An exchange token (the last of the secrets): registration fetched one.
            logging.getLogger("careless").warning("token %s", dailybot.secrets()[-1])
        """
    )

    result = pytester.runpytest_inprocess("-p", "testkit.plugin")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 secret(s) (API key, signature or exchange token)*"])


def test_the_fixtures_file_is_an_ini_option(pytester: pytest.Pytester, tmp_path: Path) -> None:
    fixtures = DEFAULT_FIXTURES.read_text().replace("Jane Doe", "Ann Smith")
    pytester.makefile(".json", world=fixtures)
    pytester.makeini("[pytest]\ndailybot_fixtures = world.json\n")
    pytester.makepyfile(
        """
        def test_named(dailybot):
            assert dailybot.user.full_name == "Ann Smith"
            assert dailybot.invoke("vote yes").message == "You voted *yes*."
        """
    )

    result = pytester.runpytest_inprocess("-p", "testkit.plugin")

    result.assert_outcomes(passed=1)


def test_a_command_url_the_app_does_not_serve_is_a_kit_error(tmp_path: Path) -> None:
    fixtures = tmp_path / "world.json"
    fixtures.write_text(DEFAULT_FIXTURES.read_text().replace('/dailybot"', '/elsewhere"'))
    deployment = Deployment.from_module("app")
    world = load_kit_world(fixtures, deployment.registry.commands())

    with open_dailybot(deployment, world) as dailybot:
        with pytest.raises(KitError, match="the command answered 403"):
            dailybot.invoke("vote")
        assert [d.status for d in dailybot.deliveries] == [403]


def test_fixtures_without_a_usable_api_key_are_refused(tmp_path: Path) -> None:
    fixtures = tmp_path / "world.json"
    fixtures.write_text(DEFAULT_FIXTURES.read_text().replace("AUTH_FETCH_EXCHANGE_TOKEN", "X"))

    with pytest.raises(KitError, match="no API key has the AUTH_FETCH_EXCHANGE_TOKEN scope"):
        load_kit_world(fixtures, ["vote"])
