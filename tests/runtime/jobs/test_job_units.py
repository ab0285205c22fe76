"""Units of deferred work: the checks at `ctx.defer`, identities, the retry schedule, where
follow-ups go, and the delivery's `target_channel`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.runtime import InvalidDeferral, Reply
from chalicelib.runtime.intake.delivery import DeliveryRefused, parse_delivery
from chalicelib.runtime.jobs.deferral import DeferralLimits, Deferring, JobCollector
from chalicelib.runtime.jobs.followup import follow_up, job_failure_reply
from chalicelib.runtime.jobs.message import (
    MAX_MESSAGE_BYTES,
    InvalidJobMessage,
    JobMessage,
    job_identity,
)
from chalicelib.runtime.jobs.retry import MAX_DELAY_SECONDS, RetrySchedule
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.settings import DeliveryFields, Settings
from tests.runtime.deliveries import invocation
from tests.runtime.jobs import drills
from tests.runtime.jobs.messages import command, event

DELIVERY = command("drill", "nap 1")


@pytest.fixture
def collector() -> JobCollector:
    deferring = Deferring(parent_identity=DELIVERY.identity, delivery=DELIVERY)
    return JobCollector(drills.register(CommandRegistry()), deferring, DeferralLimits())


def test_a_registered_job_with_json_arguments_is_collected_once(collector: JobCollector) -> None:
    first = collector.defer(drills.nap, {"seconds": 1.5})
    again = collector.defer(drills.nap, {"seconds": 1.5})
    other = collector.defer(drills.flaky, {"counter": "x", "failures": 2})

    assert first == again != other
    assert [m.job for m in collector.collected()] == ["drill-nap", "drill-flaky"]
    assert collector.collected()[0].arguments == {"seconds": 1.5}


@pytest.mark.parametrize(
    ("function", "arguments", "says"),
    [
        (lambda ctx: None, {}, "is not a registered job"),
        (print, {}, "is not a registered job"),
        (drills.drill_command, {}, "is not a registered job"),
        (drills.nap, {"seconds": {1, 2}}, "argument 'seconds' is a set"),
        (drills.nap, {"seconds": (1, 2)}, "argument 'seconds' is a tuple"),
        (drills.nap, {"seconds": float("nan")}, "not a finite number"),
        (drills.nap, {"seconds": {"a": [object()]}}, "is a object"),
        (drills.nap, {"seconds": {1: "one"}}, "object key that is not text"),
        (drills.nap, {"seconds": "x" * MAX_MESSAGE_BYTES}, "the queue takes at most"),
    ],
)
def test_what_cannot_be_queued_fails_at_the_call(
    collector: JobCollector, function: Any, arguments: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidDeferral, match=says):
        collector.defer(function, arguments)
    assert collector.collected() == []


def test_only_module_level_functions_register_as_jobs() -> None:
    registry = CommandRegistry()

    def local(ctx: Any) -> None:
        return None

    with pytest.raises(ValueError, match="module-level function"):
        registry.job("local")(local)
    with pytest.raises(ValueError, match="cannot be empty"):
        registry.job(" ")
    registry.job("nap")(drills.nap)
    with pytest.raises(ValueError, match="registered twice"):
        registry.job("nap")(drills.broken)
    assert registry.job_named("nap") is drills.nap
    assert registry.name_of_job(drills.nap) == "nap"
    assert registry.name_of_job(drills.broken) is None


def test_a_job_identity_is_the_delivery_the_name_and_the_canonical_arguments() -> None:
    base = job_identity("delivery-1", "build-report", {"period": "May", "n": [1, 2]})

    assert base == job_identity("delivery-1", "build-report", {"n": [1, 2], "period": "May"})
    assert base != job_identity("delivery-2", "build-report", {"period": "May", "n": [1, 2]})
    assert base != job_identity("delivery-1", "other", {"period": "May", "n": [1, 2]})
    assert base != job_identity("delivery-1", "build-report", {"period": "June", "n": [1, 2]})


def test_a_message_survives_the_queue_and_a_replay_runs_under_a_new_key() -> None:
    identity = job_identity(DELIVERY.identity, "drill-nap", {"seconds": 1})
    message = JobMessage(identity, "drill-nap", {"seconds": 1}, DELIVERY.without_token())

    assert JobMessage.decode(message.encode()) == message
    assert message.run_key == identity
    replayed = message.replayed()
    assert (replayed.identity, replayed.replay) == (identity, 1)
    assert replayed.run_key != message.run_key
    for body in ("not json", "[]", json.dumps({"identity": "x"}), json.dumps({"origin": 1})):
        with pytest.raises(InvalidJobMessage):
            JobMessage.decode(body)


def test_the_retry_schedule_doubles_from_the_base_and_stops_after_the_attempts() -> None:
    schedule = RetrySchedule(attempts=3, base_seconds=10)

    assert [schedule.delay_after(n) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert [schedule.is_last(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert RetrySchedule(3, base_seconds=60).delay_after(30) == MAX_DELAY_SECONDS
    with pytest.raises(ValueError, match="at least once"):
        RetrySchedule(attempts=0, base_seconds=1)
    settings = Settings.from_env({"JOBS_ATTEMPTS": "5", "JOBS_BACKOFF_SECONDS": "2"})
    assert (settings.jobs_attempts, settings.jobs_backoff_seconds) == (5, 2.0)
    assert Settings.from_env({}).jobs_attempts == 3


def test_a_follow_up_goes_to_the_channel_else_the_user() -> None:
    reply = Reply("Done", image_url="https://example.test/chart.png")
    in_channel = command("report", target_channel={"id": "C42", "is_channel_message": True})
    direct = command("report")
    nobody = event("kudos.posted")

    to_channel = follow_up(reply, in_channel)
    to_user = follow_up(reply, direct)

    assert to_channel is not None
    assert to_channel.target_channels == ("C42",)
    assert to_channel.target_users == ()
    assert to_channel.image_url == reply.image_url
    assert to_user is not None
    assert to_user.target_users == (direct.user_uuid,)
    assert follow_up(reply, nobody) is None
    assert "*report*" in job_failure_reply(direct, RuntimeError()).message
    deferral = job_failure_reply(direct, InvalidDeferral("JOBS_MAX_CHAIN allows 10"))
    assert "JOBS_MAX_CHAIN allows 10" in deferral.message


def test_the_delivery_names_its_channel_in_a_configurable_field() -> None:
    fields = DeliveryFields.from_env({"DAILYBOT_FIELD_TARGET_CHANNEL": "channel"})
    body = invocation("report", channel={"id": "C42", "is_channel_message": True})

    delivery = parse_delivery(json.dumps(body).encode(), fields, max_bytes=10_000)
    direct = parse_delivery(json.dumps(invocation("report")).encode(), fields, max_bytes=10_000)

    assert (delivery.target_channel, direct.target_channel) == ("C42", None)
    with pytest.raises(DeliveryRefused, match=r"'channel\.id'"):
        parse_delivery(
            json.dumps(invocation("report", channel={"id": ""})).encode(), fields, max_bytes=10_000
        )
