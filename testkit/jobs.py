"""The job queue of a kit test: what deliveries defer, run in the test's thread right after.

The runtime sends deferred jobs here instead of SQS or the SQLite queue; after each kit
action (an invocation, a click, an event, moving the clock) the kit runs them with the
runtime's own `JobRunner`, as the job worker would, so their follow-ups are on the platform
when the action returns. A failed attempt runs again at once (the backoff is not waited
out) until the runner is done with the job, as it would be after the real retries.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final

from chalicelib.runtime.jobs.message import JobMessage
from chalicelib.runtime.jobs.queue import ReceivedJob
from chalicelib.runtime.jobs.runner import JobRunner, Outcome

# A job that stays busy this many times in a row is left alone (its claim never frees).
MAX_RUNS_PER_JOB: Final = 20


class InlineJobs:
    """A `JobQueue` whose jobs run when `run_pending` is called."""

    def __init__(self) -> None:
        self._pending: deque[JobMessage] = deque()
        self._lock = threading.Lock()
        self.sent: list[JobMessage] = []

    def send(self, message: JobMessage) -> None:
        with self._lock:
            self._pending.append(message)
            self.sent.append(message)

    def run_pending(self, runner: JobRunner) -> int:
        """Runs every queued job, and those they defer, to the end; answers how many ran."""
        ran = 0
        while True:
            with self._lock:
                if not self._pending:
                    return ran
                message = self._pending.popleft()
            self._run(runner, message)
            ran += 1

    @staticmethod
    def _run(runner: JobRunner, message: JobMessage) -> None:
        attempt = 1
        for run in range(MAX_RUNS_PER_JOB):
            received = ReceivedJob(body=message.encode(), attempt=attempt, handle=f"inline-{run}")
            result = runner.run(received)
            if result.outcome in (Outcome.DONE, Outcome.DUPLICATE, Outcome.DEAD):
                return
            if result.outcome is Outcome.RETRY:
                attempt += 1
