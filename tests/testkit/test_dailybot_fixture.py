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


# -- a handler's mistakes fail the author's test ----------------------------------------------


@pytest.fixture
def mistaken(pytestconfig: pytest.Config) -> Iterator[Dailybot]:
    """The kit around a registry whose handlers get things wrong."""
    registry = CommandRegistry()
    registry.job("kit-loop")(loop_job)
    registry.command("divide")(divide)
    registry.command("loop")(start_loop)
    deployment = Deployment.from_module("app").with_registry(registry)
    world = load_kit_world(DEFAULT_FIXTURES, registry.commands())
    with open_dailybot(deployment, world) as kit:
        yield kit


def divide(ctx: Context) -> str:
    """Divides by the number typed"""
    return f"{100 / int(ctx.text)}"


def loop_job(ctx: Context) -> str:
    ctx.defer(loop_job)
    return "again"


def start_loop(ctx: Context) -> str:
    """Starts a job that defers itself"""
    ctx.defer(loop_job)
    return "started"


def test_a_handler_that_raises_fails_the_test_with_its_exception(mistaken: Dailybot) -> None:
    with pytest.raises(KitError, match="raised ZeroDivisionError: division by zero") as raised:
        mistaken.invoke("divide 0")

    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert 'return f"{100 / int(ctx.text)}"' in str(raised.value)  # the traceback's line
    assert mistaken.invoke("divide 4").message == "25.0"


def test_a_test_may_expect_the_friendly_reply(mistaken: Dailybot) -> None:
    with mistaken.expecting_errors() as errors:
        reply = mistaken.invoke("divide 0")

    assert "something went wrong" in reply.message
    [failure] = errors
    assert (failure.subject, failure.job) == ("divide", None)
    assert isinstance(failure.error, ZeroDivisionError)


def test_a_job_that_defers_itself_fails_with_the_chain_limit_not_a_timeout(
    mistaken: Dailybot,
) -> None:
    with pytest.raises(KitError, match="JOBS_MAX_CHAIN allows 10") as raised:
        mistaken.invoke("loop")

    assert "job 'kit-loop' of 'loop'" in str(raised.value)
    # Jobs 1 to 9 of the chain answered; the 10th could not defer an 11th, and said so.
    *answered, told = [m.message for m in mistaken.messages]
    assert answered == ["again"] * 9
    assert told.startswith("Sorry, the work for *loop* could not go on: job 'kit-loop'")


def test_a_failing_handler_shows_its_traceback_in_the_author_s_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_recall(dailybot):
            dailybot.fail("/v1/platform/storage/", 500, times=5)
            dailybot.invoke("forget color")
        """
    )

    result = pytester.runpytest_inprocess("-p", "testkit.plugin")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*KitError: the handler of 'forget' raised *", "*Traceback*"])
