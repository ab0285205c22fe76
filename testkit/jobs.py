"""The job queue of a kit test: what deliveries defer, run in the test's thread right after.

The runtime sends deferred jobs here instead of SQS or the SQLite queue; after each kit
action (an invocation, a click, an event, moving the clock) the kit runs them with the
runtime's own `JobRunner`, as the job worker would, so their follow-ups are on the platform
when the action returns. A failed attempt runs again at once (the backoff is not waited
out) until the runner is done with the job, as it would be after the real retries; a job
given up on waits in `dead`, with the reason.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final

from chalicelib.runtime.jobs.message import JobMessage, decode_or_none
from chalicelib.runtime.jobs.queue import DeadJob, JobQueue, Outcome, ReceivedJob
from chalicelib.runtime.jobs.runner import JobRunner

# A job another attempt holds this many times in a row is left alone (its claim never frees).
MAX_BUSY_RUNS: Final = 20


class InlineJobs(JobQueue):
    """A `JobQueue` whose jobs run when `run_pending` is called."""

    def __init__(self) -> None:
        self._pending: deque[ReceivedJob] = deque()
        self._lock = threading.Lock()
        self._sent = 0
        self.sent: list[JobMessage] = []
        self.dead: list[DeadJob] = []

    def send(self, message: JobMessage) -> None:
        with self._lock:
            self._sent += 1
            self._pending.append(ReceivedJob(message.encode(), 0, f"inline-{self._sent}"))
            self.sent.append(message)

    def receive(self, visibility_seconds: float) -> ReceivedJob | None:
        with self._lock:
            if not self._pending:
                return None
            waiting = self._pending.popleft()
        return ReceivedJob(waiting.body, waiting.attempt + 1, waiting.handle, waiting.handle)

    def delete(self, received: ReceivedJob) -> None:
        return None  # received jobs have left the queue already

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        attempt = received.attempt if counted else received.attempt - 1
        with self._lock:
            self._pending.appendleft(ReceivedJob(received.body, attempt, received.handle))

    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        message = decode_or_none(received.body)
        with self._lock:
            self.dead.append(
                DeadJob(received.handle, message, received.body, received.attempt, reason)
            )

    def dead_letters(self) -> list[DeadJob]:
        with self._lock:
            return list(self.dead)

    def replay(self, job_id: str) -> bool:
        with self._lock:
            found = next((job for job in self.dead if job.id == job_id), None)
            if found is None:
                return False
            self.dead.remove(found)
        body = found.body if found.message is None else found.message.replayed().encode()
        with self._lock:
            self._pending.append(ReceivedJob(body, 0, found.id))
        return True

    def run_pending(self, runner: JobRunner) -> int:
        """Runs every queued job, and those they defer, to the end; answers how many attempts
        ran."""
        ran = 0
        busy: dict[str, int] = {}
        while (received := self.receive(0)) is not None:
            result = runner.run(received)
            ran += 1
            if result.outcome is Outcome.BUSY:
                busy[received.handle] = busy.get(received.handle, 0) + 1
                if busy[received.handle] >= MAX_BUSY_RUNS:
                    continue  # left alone: dropped from the queue
            self.settle(received, result)
        return ran
