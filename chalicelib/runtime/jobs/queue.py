"""The queue interface the runtime sends jobs to, and the backend a `JOBS_QUEUE` URL names.

`sqlite:///PATH` is the embedded local queue; `sqs://QUEUE-URL` is Amazon SQS (the URL with
its scheme, e.g. `sqs://https://sqs.us-east-1.amazonaws.com/123/jobs`). Anything with a
`send(message)` works: tests hand `build_runtime` a queue of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.runtime.jobs.message import JobMessage
from chalicelib.settings import SettingsError


class JobQueue(Protocol):
    """Where deferred jobs go. `send` returns once the queue has the message durably."""

    def send(self, message: JobMessage) -> None: ...


def open_queue(url: str, *, endpoint_url: str | None = None) -> JobQueue:
    """The queue `url` names (SQS loads boto3, only then)."""
    if url.startswith("sqlite:///"):
        from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue  # noqa: PLC0415

        return SQLiteJobQueue.at(url)
    if url.startswith("sqs://") and len(url) > len("sqs://"):
        from chalicelib.runtime.jobs.sqs_queue import SQSJobQueue  # noqa: PLC0415

        return SQSJobQueue(url[len("sqs://") :], endpoint_url=endpoint_url)
    raise SettingsError(f"JOBS_QUEUE must be sqlite:///PATH or sqs://QUEUE-URL, got {url!r}")


@dataclass(frozen=True)
class ReceivedJob:
    """A message taken off a queue for one attempt: `attempt` counts from 1; `handle` is what
    the queue needs to delete or release it (a receipt)."""

    body: str
    attempt: int
    handle: str
    queue_id: str = ""


class JobSource(Protocol):
    """What a consumer of a queue does with a received job once its attempt is over."""

    def delete(self, received: ReceivedJob) -> None: ...

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        """Visible again after `delay_seconds`; `counted=False` gives the attempt back."""

    def dead_letter(self, received: ReceivedJob, reason: str) -> None: ...


@dataclass(frozen=True)
class DeadJob:
    """A job in the dead-letter queue, as `make jobs` lists it."""

    id: str
    message: JobMessage | None
    body: str
    attempts: int
    reason: str
