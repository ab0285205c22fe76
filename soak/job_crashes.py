"""Killing the job worker at each step of one job, and what each kill must leave behind.

A job's attempt goes: received from the queue, claimed in the store, run, its follow-up sent,
its claim completed (the record), its message deleted. The worker is SIGKILLed once at each
step, each step in a worker of its own with a queue and a claim store of its own (SQLite
files), so the step can be seen and held exactly: a held write lock on the store or the
queue stalls the worker right where the step is, and the kill lands there, not near it.

The documented outcome of each kill, in follow-ups, once the job's claim has expired:

- before the run: 1. Nothing was claimed or sent; the message reappears and runs once.
- mid-run: 1. Nothing was sent; the claim expires and the job runs again, once.
- after the send: 2. The platform took the follow-up and has no idempotency key for
  messages; the claim was not completed, so the job runs again and sends it again (at least
  once: the one window left is that one store write).
- after the record: 1. The claim is complete; the message reappears and is deleted as a
  duplicate.
- after the delete: 1. Nothing is left to run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from chalicelib.dailybot.models import JSONValue
from chalicelib.runtime.intake.delivery import parse_delivery
from chalicelib.runtime.jobs.message import JobMessage, job_identity
from chalicelib.runtime.jobs.runner import JobTimings
from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue
from chalicelib.settings import DeliveryFields
from soak.job_texts import JOB_INTENT, STARTED, follow_up_text
from soak.stack import JobWorker

# Short, so a killed job's claim expires soon (the claim lasts the timeout plus the time kept
# for reports and settling, `JobTimings`), and longer than the naps below.
TIMEOUT_SECONDS: Final = 3
NAP_SECONDS: Final = 1.0
POLL_SECONDS: Final = 0.02
STEP_SECONDS: Final = 30.0
"""How long one step may take to reach the point it kills at."""
SETTLE_SECONDS: Final = 2.0
"""How long to keep counting after a step has its follow-ups, for one too many."""


class CrashStep(StrEnum):
    BEFORE_RUN = "before the run"
    MID_RUN = "mid-run"
    AFTER_SEND = "after the send"
    AFTER_RECORD = "after the record"
    AFTER_DELETE = "after the delete"


EXPECTED_FOLLOW_UPS: Final = {step: 1 for step in CrashStep} | {CrashStep.AFTER_SEND: 2}


@dataclass(frozen=True)
class StepOutcome:
    step: CrashStep
    killed: bool  # the worker was killed at the step (not before it, not after)
    follow_ups: int
    restarted: bool

    @property
    def expected(self) -> int:
        return EXPECTED_FOLLOW_UPS[self.step]

    @property
    def holds(self) -> bool:
        return self.killed and self.restarted and self.follow_ups == self.expected

    def describe(self) -> str:
        where = "killed" if self.killed else "NOT killed at the step"
        return f"{self.step}: {where}, {self.follow_ups} follow-up(s) ({self.expected} expected)"


@dataclass(frozen=True)
class Platform:
    """Who the jobs act as, and how to read the messages the platform holds."""

    organization_uuid: str
    user_uuid: str
    user_full_name: str
    messages: Callable[[], list[str]]


def crash_every_step(
    environment: Mapping[str, str], directory: Path, platform: Platform
) -> list[StepOutcome]:
    """Each step in a worker of its own, all at once; answers the outcome of each."""
    directory.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(CrashStep)) as pool:
        running = [
            pool.submit(_Step(step, environment, directory, platform).run) for step in CrashStep
        ]
        return [future.result() for future in running]


class _Step:
    def __init__(
        self,
        step: CrashStep,
        environment: Mapping[str, str],
        directory: Path,
        platform: Platform,
    ) -> None:
        self.step = step
        self.platform = platform
        name = step.value.replace(" ", "-")
        files = directory / name
        files.mkdir(parents=True, exist_ok=True)
        self.queue = SQLiteJobQueue(files / "jobs.sqlite3")
        self.store = files / "idempotency.sqlite3"
        self.key = f"crash-{name}-{uuid.uuid4().hex[:6]}"
        logs = files / "logs"
        logs.mkdir(exist_ok=True)
        self.worker = JobWorker(
            {
                **os.environ,
                **environment,
                "JOBS_QUEUE": f"sqlite:///{self.queue.path}",
                "IDEMPOTENCY_STORE": f"sqlite:///{self.store}",
                "DAILYBOT_EXTRA_COMMANDS": "soak.job_commands",
                "JOBS_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
                "JOBS_ATTEMPTS": "3",
                "JOBS_BACKOFF_SECONDS": "0.3",
            },
            logs,
        )

    def run(self) -> StepOutcome:
        self.worker.start()
        try:
            self._warm_up()
            killed = self._kill_at_step()
            restarted = self.worker.restart()
            follow_ups = self._count_follow_ups()
        finally:
            self.worker.stop()
        return StepOutcome(self.step, killed, follow_ups, restarted)

    def _warm_up(self) -> None:
        """A first job, so the worker has imported everything, fetched a token and made the
        store's table before the one it is killed in."""
        self.worker.wait_draining()
        warm = f"{self.key}-warm"
        self.queue.send(self._job(warm, 0))
        # Settled whole (claim completed, message deleted), not only its follow-up sent: a
        # step that then holds the store must hold it against its own job, not this one.
        _wait(
            lambda: (
                self._sent(warm) == 1
                and self._claims("COMPLETED") == 1
                and self.queue.pending() == 0
            ),
            f"{self.step}: the warm-up job settled",
        )

    def _kill_at_step(self) -> bool:
        actions: dict[CrashStep, Callable[[], bool]] = {
            CrashStep.BEFORE_RUN: self._before_run,
            CrashStep.MID_RUN: self._mid_run,
            CrashStep.AFTER_SEND: self._after_send,
            CrashStep.AFTER_RECORD: self._after_record,
            CrashStep.AFTER_DELETE: self._after_delete,
        }
        return actions[self.step]()

    def _before_run(self) -> bool:
        with _write_lock(self.store):  # the claim cannot be taken
            self.queue.send(self._job(self.key, 0))
            _wait(self._received, f"{self.step}: the job received")
            time.sleep(0.2)  # inside the claim's wait now
            claimed = self._claims("INPROGRESS") > 0
            self._kill()
        return not claimed and self._sent(self.key) == 0

    def _mid_run(self) -> bool:
        self.queue.send(self._job(self.key, NAP_SECONDS * 2))
        _wait(self._started, f"{self.step}: the job started")
        self._kill()
        return self._claims("INPROGRESS") == 1 and self._sent(self.key) == 0

    def _after_send(self) -> bool:
        self.queue.send(self._job(self.key, NAP_SECONDS))
        _wait(lambda: self._claims("INPROGRESS") == 1, f"{self.step}: the job claimed")
        with _write_lock(self.store):  # the claim cannot be completed
            _wait(lambda: self._sent(self.key) == 1, f"{self.step}: the follow-up sent")
            self._kill()
        return self._claims("INPROGRESS") == 1

    def _after_record(self) -> bool:
        self.queue.send(self._job(self.key, NAP_SECONDS))
        _wait(lambda: self._claims("INPROGRESS") == 1, f"{self.step}: the job claimed")
        with _write_lock(self.queue.path):  # the message cannot be deleted
            _wait(lambda: self._claims("INPROGRESS") == 0, f"{self.step}: the claim completed")
            self._kill()
        return self._claims("COMPLETED") == 2 and self.queue.pending() == 1  # warm-up's too

    def _after_delete(self) -> bool:
        self.queue.send(self._job(self.key, 0))
        _wait(lambda: self.queue.pending() == 0, f"{self.step}: the message deleted")
        self._kill()
        return self._sent(self.key) == 1

    def _kill(self) -> None:
        self.worker.kill()

    def _count_follow_ups(self) -> int:
        claim = JobTimings(TIMEOUT_SECONDS).visibility_seconds
        wanted = EXPECTED_FOLLOW_UPS[self.step]
        _wait(
            lambda: self._sent(self.key) >= wanted,
            f"{self.step}: {wanted} follow-up(s)",
            timeout=claim * 2 + STEP_SECONDS,
            required=False,
        )
        time.sleep(SETTLE_SECONDS)
        return self._sent(self.key)

    # -- what the worker has done, read from its files and the platform ----------------------

    def _job(self, key: str, seconds: float) -> JobMessage:
        body = {
            "intent": JOB_INTENT,
            "query": f"{key} {seconds:g}",
            "event_timestamp": time.time(),
            "organization_uuid": self.platform.organization_uuid,
            "user_uuid": self.platform.user_uuid,
            "user_full_name": self.platform.user_full_name,
        }
        delivery = parse_delivery(json.dumps(body).encode(), DeliveryFields(), max_bytes=1 << 16)
        arguments: dict[str, JSONValue] = {"key": key, "seconds": seconds}
        identity = job_identity(delivery.identity, "soak-nap", arguments)
        return JobMessage(identity, "soak-nap", arguments, delivery)

    def _sent(self, key: str) -> int:
        text = follow_up_text(key)
        return sum(1 for message in self.platform.messages() if message == text)

    def _received(self) -> bool:
        return bool(_rows(self.queue.path, "SELECT 1 FROM jobs WHERE attempts > 0 AND dead = 0"))

    def _started(self) -> bool:
        quoted = f'"{self.key}"'
        return any(STARTED in line and quoted in line for line in self.worker.log().splitlines())

    def _claims(self, status: str) -> int:
        query = "SELECT 1 FROM idempotency_records WHERE id LIKE 'dailybot-job%' AND status = ?"
        return len(_rows(self.store, query, (status,)))


def _rows(path: Path, query: str, parameters: tuple[str, ...] = ()) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path, timeout=5)
    try:
        return list(connection.execute(query, parameters).fetchall())
    except sqlite3.OperationalError:  # no table yet
        return []
    finally:
        connection.close()


@contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """Another process's write lock on a SQLite file, held for the block."""
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _wait(
    condition: Callable[[], bool],
    what: str,
    *,
    timeout: float = STEP_SECONDS,
    required: bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            if required:
                raise TimeoutError(f"not within {timeout:g} s: {what}")
            return
        time.sleep(POLL_SECONDS)
