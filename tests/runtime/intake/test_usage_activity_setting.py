"""`DAILYBOT_USAGE_ACTIVITY`: the usage record of every command invocation, on or off."""

from __future__ import annotations

import pytest

from chalicelib.runtime.intake.http import IncomingRequest
from chalicelib.settings import Settings, SettingsError
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.deliveries import encode, headers, invocation, sample
from tests.runtime.fake_platform import FakePlatform


@pytest.mark.parametrize(
    ("raw", "expected"), [("", True), ("on", True), ("ON", True), ("off", False), (" Off ", False)]
)
def test_the_setting_reads_on_and_off_and_defaults_to_on(raw: str, expected: bool) -> None:
    assert Settings.from_env({"DAILYBOT_USAGE_ACTIVITY": raw}).usage_activity is expected
    assert Settings.from_env({}).usage_activity is True


@pytest.mark.parametrize("raw", ["maybe", "1", "yes", "no", "of"])
def test_any_other_value_is_a_settings_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(
        SettingsError, match=f"DAILYBOT_USAGE_ACTIVITY must be on or off, got '{raw}'"
    ):
        Settings.from_env({"DAILYBOT_USAGE_ACTIVITY": raw})


def _deliver(runtime_factory: RuntimeFactory, setting: str, *bodies: dict[str, object]) -> None:
    runtime = runtime_factory(DAILYBOT_USAGE_ACTIVITY=setting)
    for body in bodies:
        response = runtime.intake.handle(IncomingRequest.of(encode(body), headers()))
        assert response.status == 200, response.body


def test_on_records_every_command_invocation(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    _deliver(make_runtime, "on", invocation("remember", "color blue"), invocation("vote"))

    assert [(r["category"], r["action"], r["label"]) for r in platform.activity] == [
        ("usage", "triggered", "remember"),
        ("usage", "triggered", "vote"),
    ]


def test_off_makes_no_activity_call_for_a_command(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    _deliver(make_runtime, "off", invocation("remember", "color blue"), invocation("vote"))

    assert platform.calls_to("platform/activity/") == []
    # The command itself still ran.
    assert platform.storage["command"] == {"color": "blue"}


def test_off_leaves_history_without_usage_records(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime(DAILYBOT_USAGE_ACTIVITY="off")
    for body in (invocation("vote"), invocation("remember", "color blue")):
        runtime.intake.handle(IncomingRequest.of(encode(body), headers()))

    answer = runtime.intake.handle(IncomingRequest.of(encode(invocation("history")), headers()))

    assert answer.body == {"message": "No activity recorded yet."}
    assert [c.method for c in platform.calls_to("platform/activity/")] == ["GET"]


def test_off_keeps_what_handlers_record_themselves(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    # The kudos handler records its own activity; only the runtime's usage record goes.
    _deliver(make_runtime, "off", sample("event_kudos_posted"))

    assert [(r["category"], r["action"]) for r in platform.activity] == [("event", "kudos.posted")]
