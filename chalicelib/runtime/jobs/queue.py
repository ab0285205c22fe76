"""The job queue: one contract (`JobQueue`), the values that cross it, and the one place a
`JOBS_QUEUE` URL is turned into a backend.

`sqlite:///PATH` is the embedded local queue; `sqs://QUEUE-URL` is Amazon SQS (the URL with
its scheme, e.g. `sqs://https://sqs.us-east-1.amazonaws.com/123/jobs`). A backend implements
the whole contract: sending (the intake, and jobs deferring jobs), receiving and settling what
was received (the local worker, the Lambda handler), and the dead-letter queue (`make jobs`).
What a backend cannot do right now (a locked file, an endpoint that does not answer) is
`QueueUnavailable`, whatever the backend: its caller waits and tries again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.runtime.jobs.message import JobMessage
from chalicelib.settings import SettingsError


class QueueUnavailable(Exception):
    """The queue could not take or give a message now (busy, unreachable); nothing changed
    that the caller needs to undo, and the same call may be tried again later."""


@dataclass(frozen=True)
class ReceivedJob:
    """A message taken off a queue for one attempt: `attempt` counts from 1; `handle` is what
    the queue needs to delete or release it (a receipt)."""

    body: str
    attempt: int
    handle: str
    queue_id: str = ""


@dataclass(frozen=True)
class DeadJob:
    """A job in the dead-letter queue, as `make jobs` lists it; `message` is None when the
    body could not be read (the reason says why)."""

    id: str
    message: JobMessage | None
    body: str
    attempts: int
    reason: str


class Outcome(StrEnum):
    """What became of one attempt, and so of its message."""

    DONE = "done"  # ran, follow-up sent: the message is deleted
    DUPLICATE = "duplicate"  # already ran (or already gave up): deleted, nothing sent
    RETRY = "retry"  # failed: visible again after the backoff, the attempt counted
    BUSY = "busy"  # another attempt holds the job: visible again later, not counted
    DEAD = "dead"  # gave up, or cannot run: into the dead-letter queue, with the reason


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    delay_seconds: float = 0.0
    reason: str = ""

    @property
    def finished(self) -> bool:
        """Whether the message leaves the queue (deleted or dead-lettered)."""
        return self.outcome in (Outcome.DONE, Outcome.DUPLICATE, Outcome.DEAD)


class JobQueue(ABC):
    """Where deferred jobs wait, are received for an attempt, and end up.

    A received message is hidden from other receivers for a visibility window; a consumer
    that dies leaves it to reappear when the window ends. Every method may raise
    `QueueUnavailable`.
    """

    @abstractmethod
    def send(self, message: JobMessage) -> None:
        """Returns once the queue holds the message durably."""

    @abstractmethod
    def receive(self, visibility_seconds: float) -> ReceivedJob | None:
        """The next visible message, hidden for `visibility_seconds`; None when none is."""

    @abstractmethod
    def delete(self, received: ReceivedJob) -> None:
        """The message is done with."""

    @abstractmethod
    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        """Visible again after `delay_seconds`; `counted=False` gives the attempt back (where
        the backend can: SQS counts every receive)."""

    @abstractmethod
    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        """Moves the message to the dead-letter queue at once, keeping `reason`."""

    @abstractmethod
    def dead_letters(self) -> list[DeadJob]:
        """The dead-letter queue, oldest first."""

    @abstractmethod
    def replay(self, job_id: str) -> bool:
        """Puts a dead job back on the queue as a replay (it runs again, even though its
        identity ran); False when there is no dead job `job_id`."""

    def settle(self, received: ReceivedJob, result: RunResult, *, delete: bool = True) -> None:
        """Does with a received message what its attempt's result says. `delete=False` leaves
        a finished message for its consumer to delete (Lambda's event source mapping deletes
        what its batch did not report failed)."""
        if result.outcome is Outcome.DEAD:
            self.dead_letter(received, result.reason)
        elif result.finished:
            if delete:
                self.delete(received)
        else:
            self.release(received, result.delay_seconds, counted=result.outcome is Outcome.RETRY)


def open_queue(url: str, *, endpoint_url: str | None = None) -> JobQueue:
    """The queue `url` names (SQS loads boto3, only then)."""
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue  # noqa: PLC0415

        return SQLiteJobQueue.at(url)
    if url.startswith("sqs://") and len(url) > len("sqs://"):
        from chalicelib.runtime.jobs.sqs_queue import SQSJobQueue  # noqa: PLC0415

        return SQSJobQueue(url[len("sqs://") :], endpoint_url=endpoint_url)
    raise SettingsError(f"JOBS_QUEUE must be sqlite:///PATH or sqs://QUEUE-URL, got {url!r}")
