"""The runtime's small parts: declarations, registry, replies, freshness, worker, redaction."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest

from chalicelib.dailybot.events import normalise_event_name
from chalicelib.dailybot.models import InvalidMessage, ScheduleSpec
from chalicelib.observability import RedactingFilter, redactor
from chalicelib.redaction import Secret
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.intake.delivery import (
    Delivery,
    delivery_identity,
    parse_delivery,
    parse_instant,
)
from chalicelib.runtime.intake.gates import freshness_problem
from chalicelib.runtime.intake.worker import Overrun, run_within
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.runtime.replies import (
    MAX_BUTTONS,
    Button,
    InvalidReply,
    Reply,
    as_reply,
    unknown_command_reply,
)
from chalicelib.settings import DeliveryFields
from tests.runtime.deliveries import invocation, sample
from tests.servers import ROOT


def test_schedule_declarations_fingerprint_every_field() -> None:
    base = ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 1})

    assert (
        base.fingerprint()
        == ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 1}).fingerprint()
    )
    assert hash(base) == hash(ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 1}))
    for changed in (
        ScheduleDeclaration("digest", cron="0 10 * * *", payload={"a": 1}),
        ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 2}),
        ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 1}, is_owned_by_user=True),
        ScheduleDeclaration("digest", cron="0 9 * * *", payload={"a": 1}, repeats=3),
    ):
        assert changed.fingerprint() != base.fingerprint()
    assert base.to_spec("https://x/dailybot") == ScheduleSpec(
        name="digest",
        cron="0 9 * * *",
        repeats=-1,
        payload={"a": 1},
        timezone_type="organization_timezone",
        is_owned_by_user=False,
        callback_url="https://x/dailybot",
    )


def test_schedule_declarations_need_a_name_and_a_timing() -> None:
    with pytest.raises(ValueError, match="name"):
        ScheduleDeclaration(" ", cron="* * * * *")
    with pytest.raises(ValueError, match="cron"):
        ScheduleDeclaration("x")
    assert ScheduleDeclaration("x", execution_frequency=60).cron is None


def test_event_names_are_normalised() -> None:
    assert normalise_event_name("KUDOS_POSTED") == "kudos.posted"
    assert normalise_event_name("organization_team_user_added") == "organization.team_user_added"
    assert normalise_event_name(" forms.response.created ") == "forms.response.created"
    assert normalise_event_name("New.Event") == "new.event"
    assert EventDeclaration("KUDOS_POSTED", ("x",)) == EventDeclaration("kudos.posted", ("x",))
    with pytest.raises(ValueError, match="event name"):
        EventDeclaration(" ")


def test_the_registry_looks_handlers_up_and_lists_declarations() -> None:
    registry = CommandRegistry()
    digest = ScheduleDeclaration("digest", cron="0 9 * * *")

    @registry.command("Remember")
    def remember(ctx: object) -> str:
        """Stores a value.

        More text.
        """
        return "ok"

    @registry.command("plain")
    def plain(ctx: object) -> str:
        return "ok"

    @registry.event("KUDOS_POSTED", subscribed_objects=["team-1"])
    def kudos(ctx: object) -> None: ...

    @registry.scheduled("digest", cron="0 9 * * *")
    def send_digest(ctx: object) -> None: ...

    @registry.scheduled("runtime-made")
    def made(ctx: object) -> None: ...

    assert registry.command_for(" remember ") is remember
    assert registry.command_for("nothing") is None
    assert registry.event_handler("kudos.posted") is kudos
    assert registry.event_handler("forms.response.created") is None
    assert registry.scheduled_handler("digest") is send_digest
    assert registry.scheduled_handler("other") is None
    assert registry.commands() == {"plain": "", "remember": "Stores a value."}
    assert registry.declared_schedules() == [digest]
    assert registry.declared_events() == [EventDeclaration("kudos.posted", ("team-1",))]
    with pytest.raises(ValueError, match="twice"):
        registry.command("REMEMBER")(plain)
    with pytest.raises(ValueError, match="empty"):
        registry.command(" ")
    # A declaration the platform could not take fails at import, naming the handler.
    with pytest.raises(ValueError, match=r"@scheduled\('bad'\) on .*bad_cron: .*has 2 field"):

        @registry.scheduled("bad", cron="every day")
        def bad_cron(ctx: object) -> None: ...

    with pytest.raises(ValueError, match=r"@scheduled\('zone-only'\) on .*plain: say when"):
        registry.scheduled("zone-only", timezone_type="user_timezone")(plain)
    assert registry.scheduled_handler("bad") is None


def test_replies_are_validated_and_made_json() -> None:
    buttons = [Button("Yes", "yes", label_after_click="Done")]
    assert Reply("hi", buttons=buttons).to_json() == {
        "message": "hi",
        "buttons": [
            {"label": "Yes", "value": "yes", "button_type": "Command", "label_after_click": "Done"}
        ],
    }
    assert Reply("x", buttons=[Button(str(n), str(n)) for n in range(MAX_BUTTONS)])
    with pytest.raises(InvalidReply, match="at most 25"):
        Reply("x", buttons=[Button(str(n), str(n)) for n in range(MAX_BUTTONS + 1)])
    with pytest.raises(InvalidReply, match="Button"):
        Reply("x", buttons=["yes"])  # type: ignore[list-item]
    with pytest.raises(InvalidReply, match="text"):
        Reply(3)  # type: ignore[arg-type]
    assert as_reply("plain") == Reply("plain")
    assert as_reply(None) is None
    with pytest.raises(InvalidReply):
        as_reply(7)
    assert unknown_command_reply("x", {}).message == "Sorry, I don't know the command *x*."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-25T12:00:00Z", 1772020800.0),
        ("2026-02-25T12:00:00", 1772020800.0),
        ("2026-02-25T13:00:00+01:00", 1772020800.0),
        (1772020800, 1772020800.0),
        (1772020800.5, 1772020800.5),
        ("1772020800.5", 1772020800.5),
        ("noon", None),
        (True, None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_timestamps_parse(value: object, expected: float | None) -> None:
    assert parse_instant(value) == expected


def test_freshness_window_is_symmetric_and_can_be_turned_off() -> None:
    assert freshness_problem(1000, 1200, 300) is None
    assert freshness_problem(1000, 1301, 300) == "stale"
    assert freshness_problem(1302, 1000, 300) == "future"
    assert freshness_problem(0, 1e9, 0) is None


def test_identity_ignores_the_exchange_token_and_key_order() -> None:
    fields = DeliveryFields()
    one = delivery_identity({"a": 1, "b": 2, "exchange_token": "t1"}, fields)

    assert one == delivery_identity({"b": 2, "a": 1, "exchange_token": "t2"}, fields)
    assert one != delivery_identity({"a": 1, "b": 3}, fields)


def test_identity_is_that_of_the_parsed_delivery_not_of_its_spelling() -> None:
    base = invocation("remember", "color blue", event_timestamp="2026-12-02T10:00:00Z")
    same = [
        {**base, "event_timestamp": "2026-12-02T10:00:00+00:00"},
        {**base, "event_timestamp": "2026-12-02T05:00:00-05:00"},
        {**base, "intent": " REMEMBER "},
        {**base, "user_uuid": base["user_uuid"].upper()},
        {**base, "exchange_token": "another-attempt"},
    ]
    different = [
        {**base, "event_timestamp": "2026-12-02T10:00:01Z"},
        {**base, "query": "color red"},
        {**base, "intent": "recall"},
    ]

    identity = _parsed(base).identity
    assert [_parsed(body).identity for body in same] == [identity] * len(same)
    assert identity not in {_parsed(body).identity for body in different}
    kudos = sample("event_kudos_posted")
    assert _parsed({**kudos, "event": "KUDOS_POSTED"}).identity == _parsed(kudos).identity


def _parsed(body: dict[str, object]) -> Delivery:
    return parse_delivery(json.dumps(body).encode(), DeliveryFields(), max_bytes=1 << 20)


def test_the_worker_returns_raises_or_gives_up_in_time() -> None:
    assert run_within(lambda: 5, 1.0) == 5
    with pytest.raises(KeyError):
        run_within(lambda: {}["x"], 1.0)

    def own_timeout() -> None:
        raise TimeoutError("the work's own")

    with pytest.raises(TimeoutError, match="own"):
        run_within(own_timeout, 1.0)
    started = time.monotonic()
    with pytest.raises(Overrun):
        run_within(lambda: time.sleep(1), 0.1)
    assert time.monotonic() - started < 0.5


def test_the_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    redactor.remember(Secret("xt-filtered-token-123"))
    try:
        raise ValueError("xt-filtered-token-123 in an error")
    except ValueError:
        record = logging.LogRecord(
            "httpx",
            logging.WARNING,
            __file__,
            1,
            "token %s",
            ("xt-filtered-token-123",),
            sys.exc_info(),
            sinfo="stack xt-filtered-token-123",
        )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "token [redacted]"
    assert record.exc_text is not None
    assert "[redacted] in an error" in record.exc_text
    assert record.stack_info == "stack [redacted]"


def test_the_sqlite_path_never_imports_boto3() -> None:
    code = (
        "import sys, app\n"
        "from chalicelib.runtime.idempotency.ledger import open_store\n"
        "open_store('sqlite:///.local/never-used.sqlite3')\n"
        "import aws_lambda_powertools.utilities.idempotency as i\n"
        "assert i.BasePersistenceLayer\n"
        # (Powertools itself imports the bare `botocore` package, which costs under a ms.)
        "print(*(name in sys.modules for name in ('boto3', 'botocore.client', 'aws_xray_sdk')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False", "False"]


def test_the_idempotency_package_resolves_its_names_lazily() -> None:
    from chalicelib.runtime.idempotency import powertools_import as lazy

    original = sys.modules.pop(lazy.PACKAGE)
    try:
        lazy.install()
        package = sys.modules[lazy.PACKAGE]
        assert package is not original
        lazy.install()  # a second call changes nothing
        assert sys.modules[lazy.PACKAGE] is package
        assert package.BasePersistenceLayer is original.BasePersistenceLayer
        with pytest.raises(AttributeError, match="nothing"):
            package.nothing  # noqa: B018
        assert lazy.submodule("config").IdempotencyConfig is original.IdempotencyConfig
    finally:
        sys.modules[lazy.PACKAGE] = original


def test_platform_calls_get_a_subsegment_when_tracing_is_on(tmp_path: object) -> None:
    # In its own process: an enabled Tracer patches httpx for the whole interpreter.
    code = (
        "from chalicelib.observability import platform_call_tracer\n"
        "from aws_xray_sdk.core import xray_recorder\n"
        "wrap = platform_call_tracer()\n"
        "with wrap('GET', 'platform/activity/'):\n"
        "    sub = xray_recorder.current_subsegment()\n"
        "print(sub.name, sub.annotations['method'])\n"
    )
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": "/var/task",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_X_AMZN_TRACE_ID": (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "## dailybot GET platform/activity/ GET", result.stderr


def test_the_redactor_keeps_recent_tokens_once_and_forgets_the_oldest() -> None:
    from chalicelib.observability import SecretRedactor

    scrubber = SecretRedactor()
    scrubber.configure([Secret("static-secret-1"), None, Secret("abc")])
    scrubber.remember(None)
    for number in range(200):
        scrubber.remember(Secret(f"token-{number:04d}"))
    scrubber.remember(Secret("token-0199"))

    assert scrubber.redact("static-secret-1 abc token-0199 token-0100") == (
        "[redacted] abc [redacted] [redacted]"
    )
    assert scrubber.redact("token-0000") == "token-0000"  # evicted long ago


def test_the_dynamodb_endpoint_is_a_setting() -> None:
    from chalicelib.settings import Settings

    assert Settings.from_env({}).idempotency_dynamodb_endpoint is None
    configured = Settings.from_env({"IDEMPOTENCY_DYNAMODB_ENDPOINT": " http://127.0.0.1:5000 "})
    assert configured.idempotency_dynamodb_endpoint == "http://127.0.0.1:5000"


def test_buttons_and_images_are_validated() -> None:
    # A button is checked when it is made, the same way for replies and follow-up messages.
    with pytest.raises(InvalidMessage, match="label"):
        Button("", "x")
    with pytest.raises(InvalidMessage, match="value"):
        Button("x", 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="label_after_click"):
        Button("x", "y", label_after_click=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidReply, match="image_url"):
        Reply("x", image_url=5)  # type: ignore[arg-type]
    assert Reply("x", image_url="https://x/y.png").to_json() == {
        "message": "x",
        "image_url": "https://x/y.png",
    }
