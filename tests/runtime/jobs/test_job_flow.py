"""Deferred work through the real intake, SQLite queue, job runner and worker loop, against
the in-test platform: queued only by a successful run, run once, retried, dead-lettered."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import main as app_main
from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.jobs import admin
from chalicelib.runtime.jobs.message import JobMessage
from chalicelib.runtime.jobs.queue import Outcome, ReceivedJob
from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue
from chalicelib.runtime.jobs.worker import drain
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import Poster, RuntimeFactory
from tests.runtime.deliveries import USER, invocation
from tests.runtime.fake_platform import FakePlatform
from tests.runtime.jobs import drills
from tests.runtime.jobs.messages import message


@pytest.fixture
def jobs_runtime(client: Client, make_runtime: RuntimeFactory, tmp_path: Path) -> Runtime:
    # After `client`, whose default runtime this one replaces.
    return make_runtime(
        commands=drills.register(CommandRegistry()),
        JOBS_QUEUE=f"sqlite:///{tmp_path}/jobs.sqlite3",
        JOBS_BACKOFF_SECONDS="0",
        JOBS_ATTEMPTS="3",
    )


def queue_of(runtime: Runtime) -> SQLiteJobQueue:
    assert isinstance(runtime.jobs, SQLiteJobQueue)
    return runtime.jobs


def work(runtime: Runtime) -> int:
    """Runs every visible job (and what they queue) until none is left visible."""
    return drain(runtime.job_runner, queue_of(runtime), stop=threading.Event(), once=True)


def follow_ups(platform: FakePlatform) -> list[dict[str, Any]]:
    return [call.body for call in platform.calls_to("send-message/")]


def test_a_deferred_job_answers_with_one_follow_up_to_the_user(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    reply = deliver(invocation("drill", "nap 0"))

    assert reply.status_code == 200
    assert reply.json_body == {"message": "Queued nap."}
    assert queue_of(jobs_runtime).pending() == 1
    assert follow_ups(platform) == []
    assert work(jobs_runtime) == 1
    (message,) = follow_ups(platform)
    assert message["message"] == "Slept 0 s for Jane Doe (nap 0)."
    assert message["target_users"] == [USER]
    # The job fetched its own token: the delivery's may have expired by then.
    assert message["exchange_token"] == f"xt-fetched-for-{USER}"


def test_a_follow_up_goes_to_the_channel_the_command_was_used_in(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("drill", "nap 0", target_channel={"id": "C9", "is_channel_message": True}))
    work(jobs_runtime)

    (message,) = follow_ups(platform)
    assert message["target_channels"] == ["C9"]
    assert "target_users" not in message


def test_a_duplicate_delivery_queues_nothing_and_a_failed_run_queues_nothing(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    body = invocation("drill", "nap 0")
    deliver(body)
    deliver(body)
    assert queue_of(jobs_runtime).pending() == 1

    platform.fail("auth/fetch-command-exchange-token/", 500, 500, 500, 500)
    # An argument the drill cannot parse: the handler raises after nothing was deferred.
    failed = deliver(invocation("drill", "flaky only-a-path"))
    assert "went wrong" in failed.json_body["message"]
    assert queue_of(jobs_runtime).pending() == 1


def test_a_queue_delivering_twice_still_sends_one_follow_up(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("drill", "nap 0"))
    received = queue_of(jobs_runtime).receive(30)
    assert received is not None

    first = jobs_runtime.job_runner.run(received)
    second = jobs_runtime.job_runner.run_message(JobMessage.decode(received.body))

    assert (first.outcome, second.outcome) == (Outcome.DONE, Outcome.DUPLICATE)
    assert len(follow_ups(platform)) == 1


def test_a_job_failing_twice_then_succeeding_sends_one_follow_up(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform, tmp_path: Path
) -> None:
    deliver(invocation("drill", f"flaky {tmp_path / 'count'} 2"))

    assert work(jobs_runtime) == 3
    assert [m["message"] for m in follow_ups(platform)] == [
        f"Done after 3 attempts (flaky {tmp_path / 'count'} 2)."
    ]
    assert queue_of(jobs_runtime).pending() == 0


def test_a_job_always_failing_sends_one_failure_records_an_error_and_is_dead_lettered(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("drill", "broken"))

    assert work(jobs_runtime) == 3
    (message,) = follow_ups(platform)
    assert message["message"].startswith("Sorry, I couldn't finish the work for *drill*")
    errors = [r for r in platform.activity if r["category"] == "error"]
    assert [(r["action"], r["label"]) for r in errors] == [("job_failed", "drill-broken")]
    assert errors[0]["metadata"]["attempts"] == 3
    (dead,) = queue_of(jobs_runtime).dead_letters()
    assert dead.message is not None
    assert dead.message.job == "drill-broken"

    out = io.StringIO()
    assert admin.main([], queue_of(jobs_runtime), out) == 0
    assert "drill-broken" in out.getvalue()
    assert "attempts=3" in out.getvalue()
    assert admin.main(["--replay", dead.id], queue_of(jobs_runtime), out) == 0
    # A replay runs again (and, still broken, fails again): one more failure message.
    assert work(jobs_runtime) == 3
    assert len(follow_ups(platform)) == 2
    assert admin.main(["--replay-all"], queue_of(jobs_runtime), out) == 0
    assert admin.main(["--replay", "404"], queue_of(jobs_runtime), out) == 1
    assert queue_of(jobs_runtime).dead_letters() == []


def test_jobs_can_defer_jobs_and_a_job_may_say_nothing(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("drill", "chain 2"))
    deliver(invocation("drill"))

    assert work(jobs_runtime) == 4
    assert sorted(m["message"] for m in follow_ups(platform)) == [
        "Chain at depth 0.",
        "Chain at depth 1.",
        "Chain at depth 2.",
    ]


def test_what_the_runner_cannot_run_is_dead_lettered(
    jobs_runtime: Runtime, platform: FakePlatform
) -> None:
    queue = queue_of(jobs_runtime)
    queue.send(message("no-such-job"))

    unknown = queue.receive(30)
    assert unknown is not None
    assert jobs_runtime.job_runner.run(unknown).reason == "unknown_job: no-such-job"
    garbled = ReceivedJob("not a job", 1, "h")
    assert jobs_runtime.job_runner.run(garbled).outcome is Outcome.DEAD


def test_the_report_command_defers_its_report(
    make_runtime: RuntimeFactory, deliver: Poster, platform: FakePlatform, tmp_path: Path
) -> None:
    runtime = make_runtime(JOBS_QUEUE=f"sqlite:///{tmp_path}/jobs.sqlite3")

    reply = deliver(invocation("report", "May"))
    work(runtime)

    assert reply.json_body == {
        "message": "Building your report; I'll send it here when it's ready."
    }
    (message,) = follow_ups(platform)
    assert message["message"].startswith("*Report for May*: 1 command use(s) and 0 error(s)")


def test_the_command_line_lists_the_dead_letters_of_the_configured_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBS_QUEUE", f"sqlite:///{tmp_path}/empty.sqlite3")

    assert app_main(["jobs"]) == 0
    assert app_main(["nonsense"]) == 2
    assert "the dead-letter queue is empty" in capsys.readouterr().out


def test_the_worker_command_drains_the_queue(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    deliver(invocation("drill", "nap 0"))

    assert app_main(["work", "--once"]) == 0
    assert len(follow_ups(platform)) == 1
