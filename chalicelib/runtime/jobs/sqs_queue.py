"""Amazon SQS as the job queue (`JOBS_QUEUE=sqs://QUEUE-URL`), and its dead-letter queue.

The API handler only sends. In Lambda the event source mapping receives and deletes; the
job function changes a failed message's visibility to the retry's delay (the backoff), and
after the queue's `maxReceiveCount` receives SQS moves it to the dead-letter queue.
`receive`/`delete` serve a worker draining SQS outside Lambda; `dead_letters`/`replay`
serve `make jobs`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from chalicelib.runtime.jobs.message import InvalidJobMessage, JobMessage
from chalicelib.runtime.jobs.queue import DeadJob, ReceivedJob
from chalicelib.runtime.jobs.retry import MAX_DELAY_SECONDS

RECEIVE_COUNT: Final = "ApproximateReceiveCount"


def sqs_client(endpoint_url: str | None = None) -> Any:
    # Only an SQS queue pays for boto3's import.
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.session.Session().client("sqs", endpoint_url=endpoint_url, region_name=region)


class SQSJobQueue:
    """The SQS queue at `queue_url`."""

    def __init__(
        self, queue_url: str, *, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        self.queue_url = queue_url
        self._endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self) -> Any:
        # Made on first use: a cold start whose delivery defers nothing never pays for it.
        if self._client is None:
            self._client = sqs_client(self._endpoint_url)
        return self._client

    def __repr__(self) -> str:
        return f"SQSJobQueue({self.queue_url!r})"

    def send(self, message: JobMessage) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=message.encode())

    def receive(self, visibility_seconds: float, wait_seconds: int = 1) -> ReceivedJob | None:
        answer = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=int(visibility_seconds),
            MessageSystemAttributeNames=[RECEIVE_COUNT],
        )
        messages = answer.get("Messages") or []
        return received_from(messages[0]) if messages else None

    def delete(self, received: ReceivedJob) -> None:
        self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=received.handle)

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        # SQS counts every receive: an attempt cannot be given back (`counted` is moot).
        self.client.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=received.handle,
            VisibilityTimeout=int(min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        # Visible at once: its next receive exceeds maxReceiveCount and SQS redrives it.
        self.release(received, 0, counted=True)

    # -- the dead-letter queue (`make jobs`, with the operator's credentials) ---------------

    def dead_letter_url(self) -> str:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
        return str(self.client.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"])

    def dead_letters(self) -> list[DeadJob]:
        return [dead for dead, _ in self._peek_dead()]

    def replay(self, job_id: str) -> bool:
        """Sends the dead job `job_id` (its SQS message id) back as a replay; False if absent."""
        dlq = self.dead_letter_url()
        for dead, handle in self._peek_dead(hold_seconds=30):
            if dead.id == job_id:
                body = dead.body if dead.message is None else dead.message.replayed().encode()
                self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)
                self.client.delete_message(QueueUrl=dlq, ReceiptHandle=handle)
                return True
        return False

    def _peek_dead(self, hold_seconds: int = 0) -> list[tuple[DeadJob, str]]:
        dlq = self.dead_letter_url()
        seen: dict[str, tuple[DeadJob, str]] = {}
        while True:
            messages = (
                self.client.receive_message(
                    QueueUrl=dlq,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=hold_seconds,
                    MessageSystemAttributeNames=[RECEIVE_COUNT],
                ).get("Messages")
                or []
            )
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                return list(seen.values())
            for raw in fresh:
                received = received_from(raw)
                try:
                    message: JobMessage | None = JobMessage.decode(received.body)
                except InvalidJobMessage:
                    message = None
                dead = DeadJob(raw["MessageId"], message, received.body, received.attempt, "")
                seen[raw["MessageId"]] = (dead, received.handle)


def received_from(raw: dict[str, Any]) -> ReceivedJob:
    """A received job from an SQS message, as `ReceiveMessage` or a Lambda event has it."""
    attributes = raw.get("Attributes") or raw.get("attributes") or {}
    return ReceivedJob(
        body=raw.get("Body", raw.get("body", "")),
        attempt=int(attributes.get(RECEIVE_COUNT, 1)),
        handle=raw.get("ReceiptHandle", raw.get("receiptHandle", "")),
        queue_id=raw.get("MessageId", raw.get("messageId", "")),
    )


class LambdaBatch:
    """The job source of one Lambda invocation: the event source mapping deletes what is not
    reported failed; a retry or a dead letter is reported as a batch item failure."""

    def __init__(self, queue: SQSJobQueue) -> None:
        self._queue = queue
        self.failures: list[str] = []

    def delete(self, received: ReceivedJob) -> None:
        return None  # the event source mapping deletes a message its batch did not fail

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        self._queue.release(received, delay_seconds, counted=counted)
        self.failures.append(received.queue_id)

    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        self._queue.dead_letter(received, reason)
        self.failures.append(received.queue_id)

    def response(self) -> dict[str, list[dict[str, str]]]:
        """The partial batch response Lambda reads (`ReportBatchItemFailures`)."""
        return {"batchItemFailures": [{"itemIdentifier": item} for item in self.failures]}
