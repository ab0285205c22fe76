"""`make run` (`python -m devstack`) under poison and a dying worker: poisoned messages end in
`make jobs`' dead letters while the worker keeps its PID; a killed worker is said and started
again while the emulator and the app keep serving; jobs invoked after both follow up once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chalicelib.runtime.jobs.sqlite_queue import SQLiteJobQueue
from tests.runtime.jobs.messages import poisoned_bodies
from tests.servers import ROOT, ServerProcess, free_port, start_devstack

pytestmark = pytest.mark.e2e

# The four poisons the local queue used to crash its worker with.
POISONS = ("bogus kind", "job is a list", "sent_at is yesterday", "100,000 nested [")


@dataclass
class LocalStack:
    devstack: ServerProcess
    state: Path
    emulator_url: str

    def worker_pid(self) -> int:
        return int((self.state / "worker.pid").read_text())

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.emulator_url}/_emulator/{path}", json=body, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def follow_ups(self, text: str) -> list[str]:
        return [m["message"] for m in self.control("GET", "messages") if text in m["message"]]

    def make_jobs(self) -> str:
        completed = subprocess.run(
            [sys.executable, "app.py", "jobs"],
            cwd=ROOT,
            env={**os.environ, "JOBS_QUEUE": f"sqlite:///{self.state / 'jobs.sqlite3'}"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return completed.stdout


def wait_for(what: Callable[[], bool], timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen in {timeout} s: {why}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("make-run")
    emulator_port = free_port()
    devstack = start_devstack(tmp, emulator_port=emulator_port, app_port=free_port())
    try:
        yield LocalStack(devstack, tmp / "state", f"http://127.0.0.1:{emulator_port}")
    finally:
        devstack.stop()


def test_poisoned_messages_end_in_the_dead_letters_and_the_worker_lives_on(
    local_stack: LocalStack,
) -> None:
    pid = local_stack.worker_pid()
    queue = SQLiteJobQueue(local_stack.state / "jobs.sqlite3")
    queue.pending()  # the queue's file and table, as the app makes them
    bodies = poisoned_bodies()
    with sqlite3.connect(queue.path) as db:
        db.executemany(
            "INSERT INTO jobs (body, visible_at) VALUES (?, 0)", [(bodies[p],) for p in POISONS]
        )

    wait_for(lambda: len(queue.dead_letters()) == len(POISONS), 30, "four dead letters")

    listed = local_stack.make_jobs().splitlines()
    assert len(listed) == len(POISONS)
    assert all("(unreadable message)" in line and "invalid_message: " in line for line in listed)
    assert local_stack.worker_pid() == pid
    os.kill(pid, 0)  # still running
    answer = local_stack.control("POST", "invoke", {"intent": "report", "query": "after poison"})
    assert answer["status_code"] == 200
    wait_for(lambda: bool(local_stack.follow_ups("after poison")), 30, "the report")
    time.sleep(1)
    assert len(local_stack.follow_ups("*Report for after poison*")) == 1


def test_a_killed_worker_is_said_and_started_again(local_stack: LocalStack) -> None:
    pid = local_stack.worker_pid()

    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: "starting it again" in local_stack.devstack.log(), 30, "the restart")
    wait_for(lambda: local_stack.worker_pid() != pid, 30, "a new worker")
    assert local_stack.control("GET", "health") is not None  # the emulator kept serving
    answer = local_stack.control("POST", "invoke", {"intent": "report", "query": "after kill"})
    assert answer["status_code"] == 200
    wait_for(lambda: bool(local_stack.follow_ups("after kill")), 60, "the report")
    assert local_stack.devstack.process.poll() is None
