"""Amazon SQS as the job queue (`JOBS_QUEUE=sqs://QUEUE-URL`), and its dead-letter queue.

The API handler only sends. In Lambda the event source mapping receives and deletes; the job
function changes a failed message's visibility to the retry's delay (the backoff), and moves a
message it gives up on (or cannot read) to the dead-letter queue itself, with the reason as a
message attribute. The queue's redrive policy (`maxReceiveCount`) stays as the net under a
function that dies on every receive. `receive`/`delete` serve a worker draining SQS outside
Lambda; `dead_letters`/`replay` serve `make jobs`. Every SDK failure is `QueueUnavailable`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from chalicelib.runtime.jobs.message import InvalidJobMessage, JobMessage
from chalicelib.runtime.jobs.queue import DeadJob, JobQueue, QueueUnavailable, ReceivedJob
from chalicelib.runtime.jobs.retry import MAX_DELAY_SECONDS

RECEIVE_COUNT: Final = "ApproximateReceiveCount"
REASON_ATTRIBUTE: Final = "reason"


def sqs_client(endpoint_url: str | None = None) -> Any:
    # Only an SQS queue pays for boto3's import.
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # botocore's defaults wait a minute per call; a worker would sit that long on a dead
    # endpoint before it could say so.
    config = Config(connect_timeout=5, read_timeout=25, retries={"total_max_attempts": 2})
    return boto3.session.Session().client(
        "sqs", endpoint_url=endpoint_url, region_name=region, config=config
    )


@contextmanager
def _sdk_errors(what: str) -> Iterator[None]:
    """botocore's errors (an endpoint that does not answer, a refused call) as the queue's."""
    from botocore.exceptions import (  # type: ignore[import-untyped]  # noqa: PLC0415
        BotoCoreError,
        ClientError,
    )

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise QueueUnavailable(f"{what}: SQS refused the call ({code})") from exc
    except BotoCoreError as exc:
        raise QueueUnavailable(f"{what}: {type(exc).__name__}") from exc


class SQSJobQueue(JobQueue):
    """The SQS queue at `queue_url`."""

    def __init__(
        self, queue_url: str, *, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        self.queue_url = queue_url
        self._endpoint_url = endpoint_url
        self._client = client
        self._dead_letter_url: str | None = None

    @property
    def client(self) -> Any:
        # Made on first use: a cold start whose delivery defers nothing never pays for it.
        if self._client is None:
            self._client = sqs_client(self._endpoint_url)
        return self._client

    def __repr__(self) -> str:
        return f"SQSJobQueue({self.queue_url!r})"

    def _call(self, operation: str, **arguments: Any) -> Any:
        with _sdk_errors(f"{operation} on {self.queue_url}"):
            return getattr(self.client, operation)(**arguments)

    def send(self, message: JobMessage) -> None:
        self._call("send_message", QueueUrl=self.queue_url, MessageBody=message.encode())

    def receive(self, visibility_seconds: float, wait_seconds: int = 1) -> ReceivedJob | None:
        answer = self._call(
            "receive_message",
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=int(min(visibility_seconds, MAX_DELAY_SECONDS)),
            MessageSystemAttributeNames=[RECEIVE_COUNT],
        )
        messages = answer.get("Messages") or []
        return received_from(messages[0]) if messages else None

    def delete(self, received: ReceivedJob) -> None:
        self._call("delete_message", QueueUrl=self.queue_url, ReceiptHandle=received.handle)

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        # SQS counts every receive: an attempt cannot be given back (`counted` is moot).
        self._call(
            "change_message_visibility",
            QueueUrl=self.queue_url,
            ReceiptHandle=received.handle,
            VisibilityTimeout=int(min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        """Sends the body to the dead-letter queue with `reason`, then deletes it here (a crash
        between the two leaves a copy here, which runs or dead-letters again: never none)."""
        self._call(
            "send_message",
            QueueUrl=self.dead_letter_url(),
            MessageBody=received.body,
            MessageAttributes={
                REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason or "unknown"}
            },
        )
        self.delete(received)

    # -- the dead-letter queue --------------------------------------------------------------

    def dead_letter_url(self) -> str:
        """The queue's redrive target (read once): the one definition of where dead jobs go."""
        if self._dead_letter_url is None:
            attributes = self._call(
                "get_queue_attributes", QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
            if "RedrivePolicy" not in attributes:
                raise QueueUnavailable(
                    f"{self.queue_url} has no dead-letter queue (no RedrivePolicy)"
                )
            arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            answer = self._call("get_queue_url", QueueName=arn.rsplit(":", 1)[1])
            self._dead_letter_url = str(answer["QueueUrl"])
        return self._dead_letter_url

    def dead_letters(self) -> list[DeadJob]:
        return [dead for dead, _ in self._peek_dead()]

    def replay(self, job_id: str) -> bool:
        """Sends the dead job `job_id` (its SQS message id) back as a replay; False if absent."""
        dlq = self.dead_letter_url()
        for dead, handle in self._peek_dead(hold_seconds=30):
            if dead.id == job_id:
                body = dead.body if dead.message is None else dead.message.replayed().encode()
                self._call("send_message", QueueUrl=self.queue_url, MessageBody=body)
                self._call("delete_message", QueueUrl=dlq, ReceiptHandle=handle)
                return True
        return False

    def _peek_dead(self, hold_seconds: int = 0) -> list[tuple[DeadJob, str]]:
        dlq = self.dead_letter_url()
        seen: dict[str, tuple[DeadJob, str]] = {}
        while True:
            messages = (
                self._call(
                    "receive_message",
                    QueueUrl=dlq,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=hold_seconds,
                    MessageSystemAttributeNames=[RECEIVE_COUNT],
                    MessageAttributeNames=[REASON_ATTRIBUTE],
                ).get("Messages")
                or []
            )
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                return list(seen.values())
            for raw in fresh:
                seen[raw["MessageId"]] = (_dead_job(raw), raw["ReceiptHandle"])


def _dead_job(raw: dict[str, Any]) -> DeadJob:
    received = received_from(raw)
    reason = raw.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {}).get("StringValue")
    try:
        message: JobMessage | None = JobMessage.decode(received.body)
    except InvalidJobMessage as exc:
        message, reason = None, reason or f"invalid_message: {exc}"
    # Moved by the redrive policy, not by the runtime: every receive crashed.
    return DeadJob(
        raw["MessageId"], message, received.body, received.attempt, reason or "max_receives"
    )


def received_from(raw: dict[str, Any]) -> ReceivedJob:
    """A received job from an SQS message, as `ReceiveMessage` or a Lambda event has it."""
    attributes = raw.get("Attributes") or raw.get("attributes") or {}
    return ReceivedJob(
        body=str(raw.get("Body", raw.get("body", ""))),
        attempt=_receive_count(attributes.get(RECEIVE_COUNT)),
        handle=str(raw.get("ReceiptHandle", raw.get("receiptHandle", ""))),
        queue_id=str(raw.get("MessageId", raw.get("messageId", ""))),
    )


def _receive_count(value: object) -> int:
    try:
        return max(1, int(str(value)))
    except ValueError:
        return 1
