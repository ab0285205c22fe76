"""The local stack as real processes: the emulator, `chalice local`, the job worker, and a
gateway between the emulator and the app.

The gateway stands where API Gateway stands in AWS. It forwards every delivery to the app and
can be told to lose the app's answer (answering 500 after the handler ran), which is how a
real redelivery of an already-handled delivery happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import (
    LOCAL_API_KEY,
    LOCAL_COMMAND_SIGNATURES,
    WORKER_COMMAND,
    Ports,
    app_command,
    app_environment,
)
from soak.delivery_server import DeliveryServer
from tests.emulator.emulator_process import DEFAULT_FIXTURES, EmulatorProcess, start_emulator
from tests.runtime.log_audit import leaks
from tests.servers import ROOT, ServerProcess, free_port, start_server, stop_child

SECRETS = (LOCAL_API_KEY, *LOCAL_COMMAND_SIGNATURES.values())


@dataclass
class Gateway:
    """Forwards POST /dailybot to the app; `lose_next` answers lost for the next N attempts."""

    app_url: str
    lose_next: int = 0
    forwarded: list[tuple[bytes, int]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        token = json.loads(body).get("exchange_token") if body.startswith(b"{") else None
        response = httpx.post(
            f"{self.app_url}/dailybot", content=body, headers=headers, timeout=15, trust_env=False
        )
        with self.lock:
            if token:
                self.tokens.add(token)
            self.forwarded.append((body, response.status_code))
            if self.lose_next:
                self.lose_next -= 1
                return 500, b'{"message": "Internal Server Error"}'
        return response.status_code, response.content


# The worker's job drills, a short backoff, and a job timeout (the claim's lock and the local
# queue's visibility window) that a 12 s job fits in and a killed worker's job outlives.
JOBS_ENV = {
    "DAILYBOT_EXTRA_COMMANDS": "tests.e2e.job_drills",
    "JOBS_BACKOFF_SECONDS": "0.3",
    "JOBS_ATTEMPTS": "3",
    "JOBS_TIMEOUT_SECONDS": "13",
}


@dataclass
class Worker:
    """`python app.py work` as a child process, killed and restarted by its own PID."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *WORKER_COMMAND], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    def wait_draining(self, timeout: float = 60.0) -> None:
        """Until the worker has started and drains the queue."""
        deadline = time.monotonic() + timeout
        while "the job worker is draining" not in self.log():
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the job worker did not start:\n{self.log()}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_child(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Stack:
    emulator: EmulatorProcess
    app: ServerProcess
    gateway: Gateway
    worker: Worker
    jobs_db: Path

    def invoke(self, intent: str, query: str = "", **extra: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.emulator.base_url}/_emulator/invoke",
            json={"intent": intent, "query": query, **extra},
            timeout=30,
            trust_env=False,
        )
        response.raise_for_status()
        return dict(response.json())

    def control(self, method: str, path: str, **body: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.emulator.base_url}/_emulator/{path}",
            json=body or None,
            timeout=30,
            trust_env=False,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    gateway_port, app_port = free_port(), free_port()
    fixtures = json.loads(DEFAULT_FIXTURES.read_text())
    for command in fixtures["commands"]:
        command["url"] = f"http://127.0.0.1:{gateway_port}/dailybot"
    fixtures["commands"][0]["aliases"].append("drill")  # the job drills (tests/e2e/job_drills.py)
    fixtures_path = tmp / "fixtures.json"
    fixtures_path.write_text(json.dumps(fixtures))
    emulator = start_emulator(tmp, fixtures=fixtures_path, clock="virtual")
    emulator_port = int(emulator.base_url.rsplit(":", 1)[1])
    ports = Ports(emulator=emulator_port, app=app_port)
    env = {
        **app_environment(ports),
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp / 'idempotency.sqlite3'}",
        "JOBS_QUEUE": f"sqlite:///{tmp / 'jobs.sqlite3'}",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **JOBS_ENV,
    }
    try:
        app = start_server(
            "chalice-local",
            app_command(ports),
            port=app_port,
            ready_path="/health",
            log_dir=tmp,
            env=env,
            timeout=60,
        )
    except BaseException:
        emulator.stop()
        raise
    gateway = Gateway(app.base_url)
    server = DeliveryServer(gateway_port, gateway.forward)
    worker = Worker({**os.environ, **env}, tmp / "worker.log")
    worker.start()
    try:
        worker.wait_draining()
        yield Stack(emulator, app, gateway, worker, tmp / "jobs.sqlite3")
    finally:
        worker.stop()
        server.stop()
        app.stop()
        emulator.stop()
        assert not leaks(worker.log(), (*SECRETS, *gateway.tokens)), "a secret reached a log"
        # The fixed secrets are audited for the whole session (tests/conftest.py); the
        # exchange tokens the emulator minted for these deliveries are known only here.
        assert not leaks(app.log(), (*SECRETS, *gateway.tokens)), "a secret reached the app's log"
