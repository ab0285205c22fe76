"""Declarations are checked when they are made, at import, against what the platform takes,
and the message names the handler and says what to change."""

from __future__ import annotations

import math
from typing import Any

import pytest

from chalicelib.runtime.declarations import (
    InvalidDeclaration,
    ScheduleDeclaration,
)
from chalicelib.runtime.registry import CommandRegistry

HERE = __name__


@pytest.mark.parametrize(
    "fields",
    [
        {"cron": "0 9 * * 1-5"},
        {"cron": "*/15 9-17 * JAN-MAR MON-FRI"},
        {"cron": "0 0 29 2 *"},  # leap years only, but it fires
        {"cron": "0 0 31 2 MON"},  # either day field matches: Mondays of February
        {"cron": "0 0 L * *"},
        {"execution_frequency": 30},
        {"cron": "0 9 * * *", "repeats": 3, "timezone_type": "user_timezone"},
        {"cron": "0 9 * * *", "payload": {"team": ["a", "b"], "n": 1}},
        {"cron": "0 9 * * *", "is_owned_by_user": True},
        {"cron": "0 9 * * *", "payload": None, "repeats": None},  # None: not set
    ],
)
def test_valid_declarations_are_accepted(fields: dict[str, Any]) -> None:
    declaration = ScheduleDeclaration("digest", **fields)
    assert len(declaration.fingerprint()) == 64


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "say when it runs: cron='0 9 \\* \\* 1-5'"),
        ({"cron": "0 9 * * *", "execution_frequency": 5}, "not both"),
        ({"cron": "banana"}, "'banana' has 1 field\\(s\\); a cron expression has five"),
        ({"cron": "0 9 * *"}, "has 4 field"),
        ({"cron": "0 25 * * *"}, "the hour field has 25, out of range: it takes 0-23"),
        ({"cron": "60 9 * * *"}, "the minute field has 60, out of range: it takes 0-59"),
        ({"cron": "0 9 * 13 *"}, "the month field has 13"),
        ({"cron": "0 9 * * 8"}, "the day-of-week field has 8"),
        ({"cron": "0 0 31 2 *"}, "'0 0 31 2 \\*' never fires"),
        ({"cron": "0 0 31 4,6,9,11 *"}, "never fires"),
        ({"cron": "*/0 * * * *"}, "a step after '/' is a number above 0"),
        ({"cron": 9}, "cron must be text, not int"),
        ({"execution_frequency": -3}, "execution_frequency is the minutes between runs, 1 to"),
        ({"execution_frequency": 0}, "execution_frequency is the minutes between runs"),
        ({"execution_frequency": 10**7}, "execution_frequency is the minutes between runs"),
        ({"execution_frequency": True}, "execution_frequency must be a whole number, not bool"),
        ({"execution_frequency": 1.5}, "execution_frequency must be a whole number, not float"),
        ({"cron": "0 9 * * *", "repeats": 0}, "repeats is how many runs: -1 for ever"),
        ({"cron": "0 9 * * *", "timezone_type": "mars"}, "timezone_type must be"),
        ({"cron": "0 9 * * *", "is_owned_by_user": "yes"}, "is_owned_by_user must be True or"),
        ({"cron": "0 9 * * *", "payload": ["a"]}, "payload must be a JSON object, not list"),
        ({"cron": "0 9 * * *", "payload": {"when": object()}}, "payload must be plain JSON"),
        ({"cron": "0 9 * * *", "payload": {"n": math.nan}}, "payload must be plain JSON"),
        ({"cron": "0 9 * * *", "payload": {1: "a"}}, "payload must be plain JSON: text keys"),
        ({"cron": "0 9 * * *", "payload": {"x": "a" * 70_000}}, "over 64 KiB"),
        ({"cron": "0 9 * * *", "callback_url": "https://x/dailybot"}, "DAILYBOT_PUBLIC_URL"),
    ],
)
def test_bad_declarations_fail_with_a_clear_message(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDeclaration, match=f"^@scheduled\\('digest'\\): .*{message}"):
        ScheduleDeclaration("digest", **fields)


def test_a_declaration_needs_a_short_name() -> None:
    with pytest.raises(InvalidDeclaration, match="needs a name"):
        ScheduleDeclaration(" ", cron="0 9 * * *")
    with pytest.raises(InvalidDeclaration, match="the name is 256 characters; the platform"):
        ScheduleDeclaration("x" * 256, cron="0 9 * * *")


def test_unset_fields_hold_the_declared_defaults_and_the_fingerprint_is_stable() -> None:
    declaration = ScheduleDeclaration("digest", cron="0 9 * * 1-5")

    assert (declaration.timezone_type, declaration.repeats, declaration.is_owned_by_user) == (
        "organization_timezone",
        -1,
        False,
    )
    # What runtimes before these checks stored: an upgrade must not look like a change.
    assert declaration.fingerprint() == (
        "0552b28dd6071129cc84bd68c47881cff9b9eb5860730c61617eba98c13a993b"
    )
    every_field = ScheduleDeclaration(
        "digest",
        execution_frequency=60,
        payload={"a": [1, 2]},
        repeats=3,
        timezone_type="user_timezone",
        is_owned_by_user=True,
    )
    assert every_field.fingerprint() == (
        "7fc977f855f89f3b5f24e6d9fdd33bf2d2c6e6c88326f12a7d79ccf17e2616bb"
    )


def test_a_bad_cron_on_a_handler_names_the_module_the_function_and_the_fix() -> None:
    registry = CommandRegistry()

    with pytest.raises(InvalidDeclaration) as raised:

        @registry.scheduled("nightly", cron="0 25 * * *")
        def nightly_report(ctx: object) -> str:
            return "report"

    message = str(raised.value)
    assert message.startswith(f"@scheduled('nightly') on {HERE}.")
    assert "nightly_report: cron '0 25 * * *': the hour field has 25" in message
    assert "For example cron='0 9 * * 1-5' (weekdays at 09:00)" in message
    assert registry.declared_schedules() == []
    assert registry.scheduled_handler("nightly") is None


@pytest.mark.parametrize(
    ("name", "guess"),
    [
        ("kudos.given", "kudos.posted"),
        ("KUDOS_GIVEN", "kudos.posted"),
        ("forms.response.create", "forms.response.created"),
        ("user_activated", "organization.user_activated"),
    ],
)
def test_an_unknown_event_says_which_one_was_meant(name: str, guess: str) -> None:
    registry = CommandRegistry()

    with pytest.raises(InvalidDeclaration) as raised:

        @registry.event(name)
        def thanks(ctx: object) -> None: ...

    message = str(raised.value)
    assert message.startswith(f"@event({name!r}) on {HERE}.")
    assert f"thanks: {name!r} is not an event Dailybot sends; did you mean {guess!r}?" in message
    assert "kudos.posted" in message
    assert registry.declared_events() == []


def test_an_event_nothing_like_a_known_one_lists_them_all() -> None:
    with pytest.raises(InvalidDeclaration, match="not an event Dailybot sends; The events are"):
        CommandRegistry().event("banana")(lambda ctx: None)


@pytest.mark.parametrize("name", ["kudos.posted", "KUDOS_POSTED", "kudos_posted", "Kudos.Posted"])
def test_both_spellings_of_a_known_event_are_taken(name: str) -> None:
    registry = CommandRegistry()

    @registry.event(name)
    def kudos(ctx: object) -> None: ...

    (declared,) = registry.declared_events()
    assert declared.event == "kudos.posted"
    assert declared.handler == f"{HERE}.{kudos.__qualname__}"


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ("team-1", "subscribed_objects is a list of object ids"),
        (["team-1", ""], "subscribed_objects holds only non-empty text"),
        ([7], "subscribed_objects holds only non-empty text"),
    ],
)
def test_subscribed_objects_are_a_list_of_ids(objects: Any, message: str) -> None:
    with pytest.raises(InvalidDeclaration, match=f"@event\\('kudos.posted'\\) on .*{message}"):
        CommandRegistry().event("kudos.posted", subscribed_objects=objects)(lambda ctx: None)
