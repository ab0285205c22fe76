"""Schedule declarations are checked when they are made, at import time, not at reconcile time."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration


@pytest.mark.parametrize(
    "fields",
    [
        {"cron": "0 9 * * 1-5"},
        {"cron": "*/15 9-17 * JAN-MAR MON-FRI"},
        {"execution_frequency": 30},
        {"cron": "0 9 * * *", "repeats": 3, "timezone_type": "user_timezone"},
        {"cron": "0 9 * * *", "payload": {"team": ["a", "b"], "n": 1}},
    ],
)
def test_valid_declarations_are_accepted(fields: dict[str, Any]) -> None:
    declaration = ScheduleDeclaration("digest", **fields)
    assert len(declaration.fingerprint()) == 64


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "either a cron or an execution_frequency"),
        ({"cron": "0 9 * * *", "execution_frequency": 5}, "not both"),
        ({"cron": "banana"}, "not a five-field cron"),
        ({"cron": "0 9 * *"}, "not a five-field cron"),
        ({"execution_frequency": -3}, "execution_frequency must be minutes above 0"),
        ({"execution_frequency": True}, "execution_frequency must be minutes above 0"),
        ({"cron": "0 9 * * *", "repeats": 0}, "repeats must be -1"),
        ({"cron": "0 9 * * *", "timezone_type": "mars"}, "timezone_type must be one of"),
        ({"cron": "0 9 * * *", "payload": {"when": object()}}, "payload must be plain JSON"),
    ],
)
def test_bad_declarations_fail_with_a_clear_message(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScheduleDeclaration("digest", **fields)


def test_a_declaration_needs_a_name() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        ScheduleDeclaration(" ", cron="0 9 * * *")


def test_event_names_are_normalised_and_required() -> None:
    assert EventDeclaration("KUDOS_POSTED").event == "kudos.posted"
    assert EventDeclaration("kudos.posted", ["a"]).subscribed_objects == ("a",)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs an event name"):
        EventDeclaration("  ")
