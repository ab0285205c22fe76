"""What a delivery leaves behind: one summary log line and one EMF metrics line per outcome."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from chalicelib.observability import logger
from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.context import Context
from chalicelib.runtime.intake.http import IncomingRequest
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.deliveries import encode, headers, invocation, now_iso, sample
from tests.runtime.fake_platform import FakePlatform


def _registry() -> CommandRegistry:
    commands = CommandRegistry()

    @commands.command("ok")
    def ok(ctx: Context) -> str:
        return "fine"

    @commands.command("boom")
    def boom(ctx: Context) -> str:
        raise RuntimeError("broken")

    @commands.command("flaky")
    def flaky(ctx: Context) -> str:
        ctx.storage.get("x")
        return "unreachable"

    @commands.command("sleepy")
    def sleepy(ctx: Context) -> str:
        time.sleep(0.6)
        return "late"

    @commands.event("kudos.posted")
    def kudos(ctx: Context) -> None:
        return None

    @commands.scheduled("standup-reminder")
    def reminder(ctx: Context) -> str:
        return "standup!"

    return commands


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(
        commands=_registry(), DAILYBOT_REPLY_BUDGET="0.8", DAILYBOT_REPLY_MARGIN="0.4"
    )


def _handle(runtime: Runtime, body: dict[str, Any], signature: str | None = None) -> Any:
    options = {} if signature is None else {"signature": signature}
    return runtime.intake.handle(IncomingRequest.of(encode(body), headers(**options)))


def _emitted(capsys: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(EMF metric lines, delivery summary lines) written to stdout since the last read."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    metrics = [line for line in lines if "_aws" in line]
    summaries = [line for line in lines if line.get("message") == "delivery finished"]
    return metrics, summaries


def _metric_names(record: dict[str, Any]) -> set[str]:
    [directive] = record["_aws"]["CloudWatchMetrics"]
    return {metric["Name"] for metric in directive["Metrics"]}


CASES: list[tuple[str, Any, str, str, set[str]]] = [
    ("answered", lambda: invocation("ok"), "command", "answered", set()),
    ("unknown intent", lambda: invocation("nope"), "command", "answered", set()),
    ("event", lambda: sample("event_kudos_posted"), "event", "answered", set()),
    ("scheduled", lambda: sample("scheduled_standup_reminder"), "scheduled", "answered", set()),
    ("handler error", lambda: invocation("boom"), "command", "failed", {"HandlerErrors"}),
    ("platform error", lambda: invocation("flaky"), "command", "failed", {"PlatformErrors"}),
    ("overrun", lambda: invocation("sleepy"), "command", "failed", {"HandlerErrors"}),
    ("stale", lambda: invocation("ok", event_timestamp=now_iso(-900)), "command", "refused", set()),
]


@pytest.mark.parametrize(
    ("body", "kind", "outcome", "counters"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_every_outcome_emits_deliveries_latency_and_its_counters(
    runtime: Runtime,
    platform: FakePlatform,
    capsys: Any,
    body: Any,
    kind: str,
    outcome: str,
    counters: set[str],
) -> None:
    platform.fail("platform/storage/", *[503] * 10)
    capsys.readouterr()

    _handle(runtime, body())

    metrics, summaries = _emitted(capsys)
    [record] = metrics
    assert (record["kind"], record["outcome"]) == (kind, outcome)
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "DailybotRuntimeTests"
    assert [sorted(names) for names in directive["Dimensions"]] == [["kind", "outcome", "service"]]
    assert _metric_names(record) == {"Deliveries", "DeliveryLatency", *counters}
    assert record["Deliveries"] == [1.0]
    assert record["DeliveryLatency"][0] >= 0
    for counter in counters:
        assert record[counter] == [1.0]
    [summary] = summaries
    assert (summary["kind"], summary["outcome"]) == (kind, outcome)
    assert isinstance(summary["duration_ms"], float)


def test_a_duplicate_is_counted_and_a_bad_signature_is_refused(
    runtime: Runtime, capsys: Any
) -> None:
    body = invocation("ok", "once")
    _handle(runtime, body)
    capsys.readouterr()

    _handle(runtime, body)
    _handle(runtime, body, signature="forged")

    metrics, summaries = _emitted(capsys)
    duplicate, refused = metrics
    assert (duplicate["kind"], duplicate["outcome"]) == ("command", "duplicate")
    assert _metric_names(duplicate) == {"Deliveries", "DeliveryLatency", "Duplicates"}
    assert duplicate["Duplicates"] == [1.0]
    assert (refused["kind"], refused["outcome"]) == ("unknown", "refused")
    assert _metric_names(refused) == {"Deliveries", "DeliveryLatency"}
    assert [s.get("reason") for s in summaries] == [None, "invalid_signature"]


def test_a_duplicate_in_progress_is_counted_as_a_duplicate(
    make_runtime: RuntimeFactory, capsys: Any
) -> None:
    release, started = threading.Event(), threading.Event()
    commands = CommandRegistry()

    @commands.command("slow")
    def slow(ctx: Context) -> str:
        started.set()
        release.wait(5)
        return "done"

    runtime = make_runtime(commands=commands)
    body = invocation("slow")
    first = threading.Thread(target=lambda: _handle(runtime, body))
    first.start()
    assert started.wait(5)
    capsys.readouterr()

    _handle(runtime, body)
    metrics, summaries = _emitted(capsys)
    release.set()
    first.join(5)

    [record] = metrics
    assert record["outcome"] == "duplicate"
    assert record["Duplicates"] == [1.0]
    assert summaries[0]["reason"] == "in_progress"


def test_the_summary_line_names_the_delivery(runtime: Runtime, capsys: Any) -> None:
    capsys.readouterr()

    _handle(runtime, invocation("ok", "hello"))
    _handle(runtime, sample("event_kudos_posted"))
    _handle(runtime, sample("scheduled_standup_reminder"))

    _, summaries = _emitted(capsys)
    command, event, scheduled = summaries
    assert command["intent"] == "ok"
    assert event["event"] == "kudos.posted"
    assert scheduled["schedule"] == "standup-reminder"
    for summary in summaries:
        assert len(summary["correlation_id"]) == 16
        assert summary["service"] == "dailybot-runtime-tests"
        assert isinstance(summary["cold_start"], bool)
        assert summary["level"] == "INFO"
    assert len({s["correlation_id"] for s in summaries}) == 3


def test_keys_of_one_delivery_do_not_leak_into_the_next(runtime: Runtime, capsys: Any) -> None:
    _handle(runtime, invocation("ok", "first"))
    capsys.readouterr()

    _handle(runtime, sample("event_kudos_posted"))

    _, [summary] = _emitted(capsys)
    assert "intent" not in summary


def test_concurrent_deliveries_and_their_handlers_log_with_their_own_keys(
    make_runtime: RuntimeFactory, capsys: Any
) -> None:
    both_running = threading.Barrier(2, timeout=5)
    commands = CommandRegistry()

    @commands.command("alpha")
    @commands.command("beta")
    def shout(ctx: Context) -> str:
        both_running.wait()
        logger.info("inside the handler", extra={"said": ctx.text})
        both_running.wait()
        return "ok"

    runtime = make_runtime(commands=commands)
    capsys.readouterr()
    threads = [
        threading.Thread(target=_handle, args=(runtime, invocation(intent, intent)))
        for intent in ("alpha", "beta")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    inside = [line for line in lines if line.get("message") == "inside the handler"]
    finished = [line for line in lines if line.get("message") == "delivery finished"]
    assert sorted(line["intent"] for line in inside) == ["alpha", "beta"]
    for line in inside:
        assert line["said"] == line["intent"]
        [summary] = [s for s in finished if s["intent"] == line["intent"]]
        assert summary["correlation_id"] == line["correlation_id"]
    assert finished[0]["correlation_id"] != finished[1]["correlation_id"]


def test_a_very_long_intent_is_shortened_in_the_log_keys(runtime: Runtime, capsys: Any) -> None:
    capsys.readouterr()

    _handle(runtime, invocation("x" * 5000))

    _, [summary] = _emitted(capsys)
    assert summary["intent"] == "x" * 200 + "…"
