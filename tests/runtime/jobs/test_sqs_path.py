"""The SQS path against moto's server (the real SQS API): send, receive, visibility, redrive
to the dead-letter queue, `make jobs` over it, and the Chalice SQS handler through
`chalice.test.Client` with messages received from that queue."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from app import app, container
from chalicelib.runtime.composition import Runtime, build_runtime
from chalicelib.runtime.jobs import admin
from chalicelib.runtime.jobs.message import JobMessage
from chalicelib.runtime.jobs.queue import ReceivedJob
from chalicelib.runtime.jobs.retry import receives_before_redrive
from chalicelib.runtime.jobs.sqs_queue import SQSJobQueue
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.fake_platform import FakePlatform
from tests.runtime.jobs import drills
from tests.runtime.jobs.messages import message
from tests.servers import moto_server

ATTEMPTS = 3


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def queue(endpoint: str) -> SQSJobQueue:
    """A fresh queue with a redrive policy as the template writes it for `ATTEMPTS`."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": str(receives_before_redrive(ATTEMPTS)),
    }
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return SQSJobQueue(url, endpoint_url=endpoint)


def test_send_receive_hide_release_and_delete(queue: SQSJobQueue) -> None:
    sent = message()
    queue.send(sent)

    first = queue.receive(visibility_seconds=1)
    assert first is not None
    assert first.attempt == 1
    assert JobMessage.decode(first.body) == sent
    assert queue.receive(visibility_seconds=1, wait_seconds=0) is None  # hidden while running
    time.sleep(1.1)
    second = queue.receive(visibility_seconds=30)
    assert second is not None
    assert second.attempt == 2
    queue.release(second, 0, counted=True)  # the retry's delay: visible again at once
    third = queue.receive(visibility_seconds=30)
    assert third is not None
    assert third.attempt == 3
    queue.delete(third)
    assert queue.receive(visibility_seconds=30, wait_seconds=0) is None


def test_after_its_attempts_a_job_is_dead_lettered_listed_and_replayed(
    queue: SQSJobQueue,
) -> None:
    queue.send(message("drill-broken", note="x"))
    for attempt in range(1, ATTEMPTS + 1):
        received = queue.receive(visibility_seconds=30)
        assert received is not None
        assert received.attempt == attempt
        if attempt < ATTEMPTS:
            queue.release(received, 0, counted=True)
        else:
            queue.dead_letter(received, "failed: DrillFailure")

    assert queue.receive(visibility_seconds=30, wait_seconds=0) is None  # moved at once
    (dead,) = queue.dead_letters()
    assert dead.message is not None
    assert dead.message.job == "drill-broken"
    assert dead.reason == "failed: DrillFailure"
    out = io.StringIO()
    assert admin.main([], queue, out) == 0
    assert dead.id in out.getvalue()
    assert admin.main(["--replay", dead.id], queue, out) == 0

    replayed = queue.receive(visibility_seconds=30)
    assert replayed is not None
    assert JobMessage.decode(replayed.body).replay == 1
    assert queue.dead_letters() == []
    assert not queue.replay("no-such-message")


def lambda_event(client: Client, received: ReceivedJob) -> dict[str, Any]:
    """The event Lambda's SQS event source would build for this received message."""
    event = client.events.generate_sqs_event(message_bodies=[received.body])
    record = event["Records"][0]
    record["receiptHandle"] = received.handle
    record["messageId"] = received.queue_id
    record["attributes"]["ApproximateReceiveCount"] = str(received.attempt)
    return event


def invoke(client: Client, queue: SQSJobQueue) -> dict[str, Any]:
    received = queue.receive(visibility_seconds=30)
    assert received is not None
    payload: dict[str, Any] = client.lambda_.invoke(
        "job_runner", lambda_event(client, received)
    ).payload
    return payload


@pytest.fixture
def sqs_runtime(
    env: dict[str, str], queue: SQSJobQueue, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The runtime with the drills, its jobs on `queue` (handed in, as a test kit would)."""
    monkeypatch.setenv("JOBS_BACKOFF_SECONDS", "0")
    runtime = build_runtime(
        drills.register(CommandRegistry()),
        transport=platform.transport(),
        registration=None,
        queue=queue,
    )
    container.reset(runtime)
    yield runtime
    container.reset(None)


def test_the_chalice_sqs_handler_runs_a_job_and_retries_a_failing_one(
    sqs_runtime: Runtime, queue: SQSJobQueue, platform: FakePlatform
) -> None:
    with Client(app, stage_name="test") as client:
        queue.send(message())
        assert invoke(client, queue) == {"batchItemFailures": []}
        (sent,) = [call.body for call in platform.calls_to("send-message/")]
        assert sent["message"] == "Slept 0 s for Jane Doe ()."

        queue.send(message("drill-broken", note="x"))
        answers = [invoke(client, queue) for _ in range(ATTEMPTS)]
        # Retries are reported failed; the last attempt moves the message itself.
        assert [len(answer["batchItemFailures"]) for answer in answers] == [1, 1, 0]
        assert queue.receive(visibility_seconds=30, wait_seconds=0) is None
        assert len(queue.dead_letters()) == 1
        failures = [call.body for call in platform.calls_to("send-message/")][1:]
        assert [m["message"][:33] for m in failures] == ["Sorry, I couldn't finish the work"]


def test_the_sqs_handler_reports_what_it_cannot_run_and_never_raises(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runtime()
    with Client(app, stage_name="test") as client:
        event = client.events.generate_sqs_event(["{}"])
        record = event["Records"][0]
        # The runtime cannot start: every record is reported failed, to come again.
        monkeypatch.delenv("DAILYBOT_API_KEY")
        container.reset(None)
        answer = client.lambda_.invoke("job_runner", event).payload
        assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
