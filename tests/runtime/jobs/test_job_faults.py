"""The job path off its happy path: poison, a job past its timeout, loops, a busy queue or
store, what a job knows of its delivery, and what is logged per message.

Each test reproduces one way the job path used to break and asserts the documented outcome,
through the real intake, SQLite queue, job runner and worker loop against the in-test
platform.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.jobs.queue import Outcome, QueueUnavailable, ReceivedJob
from chalicelib.runtime.jobs.runner import JobTimings
from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue
from chalicelib.runtime.jobs.worker import Recovery, drain
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import Poster, RuntimeFactory
from tests.runtime.deliveries import USER, invocation, sample
from tests.runtime.fake_platform import FakePlatform
from tests.runtime.jobs import drills
from tests.runtime.jobs.messages import command, message, poisoned_bodies
from tests.servers import ROOT

OWNER = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"


@pytest.fixture
def with_drills(client: Any, make_runtime: RuntimeFactory, tmp_path: Path) -> RuntimeFactory:
    """The runtime with the job drills and a SQLite queue, and these settings (after
    `client`, whose default runtime it replaces)."""

    def make(**settings: str) -> Runtime:
        return make_runtime(
            commands=drills.register(CommandRegistry()),
            JOBS_QUEUE=f"sqlite:///{tmp_path}/jobs.sqlite3",
            **settings,
        )

    return make


@pytest.fixture
def jobs_runtime(with_drills: RuntimeFactory) -> Runtime:
    return with_drills(JOBS_BACKOFF_SECONDS="0", JOBS_ATTEMPTS="3", DAILYBOT_OWNER_UUID=OWNER)


@pytest.fixture(autouse=True)
def _release_blocked_jobs() -> Iterator[None]:
    drills.RELEASE.clear()
    yield
    drills.RELEASE.set()


def queue_of(runtime: Runtime) -> SQLiteJobQueue:
    assert isinstance(runtime.jobs, SQLiteJobQueue)
    return runtime.jobs


def work(runtime: Runtime) -> int:
    return drain(runtime.job_runner, queue_of(runtime), stop=threading.Event(), once=True)


def follow_ups(platform: FakePlatform) -> list[str]:
    return [call.body["message"] for call in platform.calls_to("send-message/")]


def raw_send(queue: SQLiteJobQueue, *bodies: str) -> None:
    """Messages as a hostile or broken producer would put them in the local queue."""
    queue.send(message("drill-silent"))  # makes the file and its table
    db = sqlite3.connect(queue.path)
    try:
        with db:
            db.execute("DELETE FROM jobs")
            db.executemany(
                "INSERT INTO jobs (body, visible_at) VALUES (?, 0)", [(b,) for b in bodies]
            )
    finally:
        db.close()


# -- 1. poison never stops anything ----------------------------------------------------------


@pytest.mark.parametrize("case", sorted(poisoned_bodies()))
def test_a_poisoned_message_is_dead_lettered_at_once_with_its_reason(
    jobs_runtime: Runtime, platform: FakePlatform, case: str
) -> None:
    queue = queue_of(jobs_runtime)
    raw_send(queue, poisoned_bodies()[case])

    assert work(jobs_runtime) == 1  # one attempt, and the worker went on

    (dead,) = queue.dead_letters()
    assert dead.message is None
    assert dead.attempts == 1
    assert dead.reason.startswith("invalid_message: ")
    assert queue.pending() == 0
    assert platform.calls == []


def test_after_poison_the_worker_runs_the_next_job_once(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    queue = queue_of(jobs_runtime)
    raw_send(queue, *poisoned_bodies().values())
    deliver(invocation("drill", "nap 0 after-poison"))

    work(jobs_runtime)

    assert len(queue.dead_letters()) == len(poisoned_bodies())
    assert follow_ups(platform) == ["Slept 0 s for Jane Doe (nap 0 after-poison)."]


class BrokenRegistry(CommandRegistry):
    """A registry whose lookup itself fails: the runner's own code breaking on a message."""

    def job_named(self, name: str) -> Any:
        raise RuntimeError("lookup failed")


def test_a_message_the_runner_breaks_on_is_dead_lettered_not_raised(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime = make_runtime(
        commands=drills.register(BrokenRegistry()), JOBS_QUEUE=f"sqlite:///{tmp_path}/j.sqlite3"
    )

    result = runtime.job_runner.run(ReceivedJob(message("drill-silent").encode(), 1, "h"))

    assert (result.outcome, result.reason) == (Outcome.DEAD, "internal_error: RuntimeError")


# -- 3. a job past its timeout ---------------------------------------------------------------


def test_a_job_past_its_timeout_is_abandoned_and_reported_with_time_of_its_own(
    with_drills: RuntimeFactory, deliver: Poster, platform: FakePlatform
) -> None:
    runtime = with_drills(
        JOBS_TIMEOUT_SECONDS="1",
        JOBS_ATTEMPTS="2",
        JOBS_BACKOFF_SECONDS="0",
    )
    deliver(invocation("drill", "block"))

    # The job never returns: each attempt is abandoned at its timeout and the worker goes on.
    assert work(runtime) == 2

    assert follow_ups(platform) == [
        "Sorry, I couldn't finish the work for *drill* after several tries. "
        "It has been noted; please try again later."
    ]
    errors = [r for r in platform.activity if r["category"] == "error"]
    assert [(r["action"], r["label"], r["metadata"]["error"]) for r in errors] == [
        ("job_failed", "drill-block", "TimeoutError")
    ]
    (dead,) = queue_of(runtime).dead_letters()
    assert dead.reason == "failed: TimeoutError"


def test_no_two_attempts_of_one_job_overlap(
    with_drills: RuntimeFactory, deliver: Poster, platform: FakePlatform
) -> None:
    runtime = with_drills(
        JOBS_TIMEOUT_SECONDS="30",
    )
    deliver(invocation("drill", "block"))
    received = queue_of(runtime).receive(1)
    assert received is not None
    first: list[Outcome] = []
    running = threading.Thread(
        target=lambda: first.append(runtime.job_runner.run(received).outcome)
    )
    running.start()
    try:
        # A second worker gets the same message (its visibility ended, or SQS delivered it
        # twice) while the first attempt runs: the claim outlasts the attempt's timeout.
        again = runtime.job_runner.run(ReceivedJob(received.body, 2, "other-receipt"))
        assert again.outcome is Outcome.BUSY
        assert again.delay_seconds >= JobTimings(30).claim_seconds
    finally:
        drills.RELEASE.set()
        running.join(10)
    assert first == [Outcome.DONE]
    assert follow_ups(platform) == ["Released."]
    assert JobTimings(30).claim_seconds > 30
    assert JobTimings(30).visibility_seconds > JobTimings(30).claim_seconds


# -- 4. bounded chains -----------------------------------------------------------------------


def test_a_job_that_defers_itself_stops_at_the_chain_limit(
    with_drills: RuntimeFactory, deliver: Poster, platform: FakePlatform
) -> None:
    runtime = with_drills(
        JOBS_MAX_CHAIN="4",
        JOBS_BACKOFF_SECONDS="0",
    )
    deliver(invocation("drill", "again loop"))

    work(runtime)

    sent = follow_ups(platform)
    assert sent[:3] == ["Again (again loop)."] * 3
    (told,) = sent[3:]
    assert "JOBS_MAX_CHAIN allows 4" in told
    assert "job 'drill-again' would be job 5" in told
    (dead,) = queue_of(runtime).dead_letters()
    assert dead.reason == "invalid_deferral: InvalidDeferral"
    assert dead.attempts == 1  # an author's mistake is not retried


def test_one_run_defers_at_most_the_fanout_limit(
    with_drills: RuntimeFactory, deliver: Poster, platform: FakePlatform
) -> None:
    runtime = with_drills(
        JOBS_MAX_FANOUT="5",
    )
    deliver(invocation("drill", "fan 5"))
    deliver(invocation("drill", "fan 6"))

    work(runtime)

    assert "Fanned out 5." in follow_ups(platform)
    (told,) = [m for m in follow_ups(platform) if "JOBS_MAX_FANOUT" in m]
    assert "this run already deferred 5 jobs; JOBS_MAX_FANOUT allows 5" in told


def test_a_deferral_the_author_got_wrong_is_explained_not_the_generic_apology(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    answer = deliver(invocation("drill", "stray"))

    assert answer.json_body == {
        "message": "Sorry, *drill* could not start its background work: stray is not a "
        "registered job: decorate a module-level function with @job(name)"
    }
    assert queue_of(jobs_runtime).pending() == 0
    errors = [r for r in platform.activity if r["category"] == "error"]
    assert [(r["action"], r["label"]) for r in errors] == [("invalid_deferral", "drill")]


# -- 5. the worker rides out a busy queue or store -------------------------------------------


def test_the_worker_waits_out_a_locked_queue_and_goes_on(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform, tmp_path: Path
) -> None:
    deliver(invocation("drill", "nap 0 locked"))
    slow = SQLiteJobQueue(queue_of(jobs_runtime).path, busy_timeout_seconds=0.05)
    stop = threading.Event()
    recovery = Recovery(first=0.05, longest=0.2)
    holder = sqlite3.connect(slow.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock, held
    worker = threading.Thread(
        target=drain,
        args=(jobs_runtime.job_runner, slow),
        kwargs={"stop": stop, "recovery": recovery},
    )
    worker.start()
    try:
        with pytest.raises(QueueUnavailable, match="database is locked"):
            slow.receive(30)
        while recovery.failures < 3:
            threading.Event().wait(0.05)
        assert worker.is_alive()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    try:
        for _ in range(200):
            if follow_ups(platform):
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        worker.join(10)
    assert follow_ups(platform) == ["Slept 0 s for Jane Doe (nap 0 locked)."]
    assert recovery.failures == 0


def test_an_unreachable_sqs_endpoint_is_waited_out(jobs_runtime: Runtime) -> None:
    from chalicelib.runtime.jobs.sqs_queue import SQSJobQueue
    from tests.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    queue = SQSJobQueue(f"{endpoint}/000000000000/jobs", endpoint_url=endpoint)
    with pytest.raises(QueueUnavailable, match="EndpointConnectionError"):
        queue.receive(30, wait_seconds=0)
    stop, recovery = threading.Event(), Recovery(first=0.05, longest=0.1)
    worker = threading.Thread(
        target=drain,
        args=(jobs_runtime.job_runner, queue),
        kwargs={"stop": stop, "recovery": recovery},
    )
    worker.start()
    try:
        while recovery.failures < 3:
            threading.Event().wait(0.05)
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()


# -- 6. a job knows what its delivery was ----------------------------------------------------


def test_a_job_deferred_by_an_event_acts_as_the_event_and_can_use_the_platform(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    body = sample("event_kudos_posted", event="organization.team_user_added")
    assert deliver(body).status_code == 200

    work(jobs_runtime)

    # An event names no user and no channel: nothing to follow up; the job stored its value
    # with a token of the deployment's owner, fetched when it ran.
    assert follow_ups(platform) == []
    assert platform.storage["command"]["described"] == "event"
    (fetch,) = platform.calls_to("auth/fetch-command-exchange-token/")
    assert fetch.body["user_uuid"] == OWNER


def test_a_job_sees_its_delivery_whole(
    jobs_runtime: Runtime, deliver: Poster, platform: FakePlatform
) -> None:
    channel = {"id": "C7", "is_channel_message": True}
    deliver(invocation("drill", "describe", target_channel=channel))
    deliver(
        sample(
            "scheduled_standup_reminder",
            scheduled_execution={
                "uuid": "s-1",
                "name": "drill-standup",
                "payload": {"team": "core"},
            },
        )
    )

    work(jobs_runtime)

    described = [json.loads(m) for m in follow_ups(platform)]
    by_kind = {d["kind"]: d for d in described}
    assert by_kind["command"]["channel"] == "C7"
    assert by_kind["command"]["job"] == "drill-describe"
    assert by_kind["command"]["user_context"] == {
        "uuid": USER,
        "full_name": "Jane Doe",
        "timezone": "Europe/Madrid",
    }
    assert by_kind["command"]["command_uuid"] == "c0000000-0000-4000-8000-000000000001"
    assert by_kind["scheduled"]["scheduled"] == {
        "name": "drill-standup",
        "payload": {"team": "core"},
    }


def test_a_job_message_carries_no_exchange_token(jobs_runtime: Runtime, deliver: Poster) -> None:
    deliver(invocation("drill", "nap 0"))

    with sqlite3.connect(queue_of(jobs_runtime).path) as db:
        (body,) = db.execute("SELECT body FROM jobs").fetchone()
    assert "xt-delivered-token-0001" not in body
    assert json.loads(body)["delivery"]["text"] == "nap 0"


# -- 7. logs per message; the command lines --------------------------------------------------


def test_a_message_logs_only_its_own_job(
    jobs_runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = jobs_runtime.job_runner
    runner.run(ReceivedJob(message("drill-silent").encode(), 1, "a"))
    capsys.readouterr()

    runner.run(ReceivedJob("not a job", 1, "b"))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    assert lines
    assert all("job" not in line and "job_id" not in line for line in lines)


def test_the_command_lines_say_one_line_not_a_traceback(tmp_path: Path) -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "JOBS_QUEUE": f"sqlite:///{tmp_path}/jobs.sqlite3",
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp_path}/idempotency.sqlite3",
    }
    for args, says in (
        (["work"], "DAILYBOT_API_KEY"),
        (["jobs"], "the dead-letter queue is empty"),
    ):
        completed = subprocess.run(
            [sys.executable, "app.py", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = completed.stdout + completed.stderr
        assert says in output
        assert "Traceback" not in output


def test_make_jobs_on_a_queue_without_a_dead_letter_queue_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from app import main as app_main
    from tests.servers import moto_server

    with moto_server() as endpoint:
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        plain = sqs.create_queue(QueueName="no-redrive")["QueueUrl"]
        missing = plain.replace("no-redrive", "no-such-queue")
        for url, says in ((plain, "has no dead-letter queue"), (missing, "SQS refused the call")):
            monkeypatch.setenv("JOBS_QUEUE", f"sqs://{url}")
            monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", endpoint)
            assert app_main(["jobs"]) == 1
            err = capsys.readouterr().err
            assert says in err
            assert err.count("\n") == 1


def test_the_runner_answers_a_job_for_a_delivery_of_any_kind() -> None:
    # The message's delivery is the parsed value itself: nothing is lost on the way back.
    original = command("drill", "describe", target_channel={"id": "C1", "is_channel_message": True})
    decoded = type(message()).decode(message("drill-describe", delivery=original).encode())
    assert decoded.delivery == original.without_token()
