"""The processes a soak drives: moto's server (DynamoDB), the emulator, a fleet of apps and
the job worker.

Each is a child process bound to 127.0.0.1 on a free port, with its log under the run's
`logs/` directory, stopped (or killed, for the crash scenario) by its own PID. Every app runs
`chalice local` through `devstack.local_app` with the DynamoDB idempotency store, so the
fleet shares one table the way Lambda containers do. The apps queue deferred jobs in one
SQLite file that the worker (`python app.py work`, same environment) drains; the soak's own
job commands (`soak.job_commands`) are loaded into both through `DAILYBOT_EXTRA_COMMANDS`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3  # type: ignore[import-untyped]

from benchmarks.local_processes import free_port, stop_child
from devstack.stack import ROOT, WORKER_COMMAND, Ports, app_command, app_environment
from soak.job_texts import FAILING_INTENTS, JOB_INTENT
from soak.settings import REPLY_BUDGET_SECONDS, SoakSettings
from tests.servers import ServerProcess, start_server

DEFAULT_FIXTURES: Final = ROOT / "emulator" / "fixtures" / "default.json"
STARTUP_SECONDS: Final = 90.0


@dataclass(frozen=True)
class World:
    """Who the deliveries come from (the first organization, user and command of the
    fixtures) and every secret the fixtures hold, for the log audit."""

    organization_uuid: str
    user_uuid: str
    user_full_name: str
    command_uuid: str
    intent: str
    signature: str
    api_key: str
    secrets: tuple[str, ...]

    @classmethod
    def from_fixtures(cls, fixtures: dict[str, Any]) -> World:
        command = fixtures["commands"][0]
        key = next(k for k in fixtures["api_keys"] if k["command_uuid"] == command["uuid"])
        user = next(
            u for u in fixtures["users"] if u["organization_uuid"] == command["organization_uuid"]
        )
        secrets = [k["key"] for k in fixtures["api_keys"]]
        secrets += [c["signature"] for c in fixtures["commands"]]
        return cls(
            organization_uuid=command["organization_uuid"],
            user_uuid=user["uuid"],
            user_full_name=user["full_name"],
            command_uuid=command["uuid"],
            intent=command["intent"],
            signature=command["signature"],
            api_key=key["key"],
            secrets=tuple(secrets),
        )


def soak_fixtures(router_url: str, path: Path) -> World:
    """The default fixtures with every command delivered to the router; written to `path`."""
    fixtures = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    for command in fixtures["commands"]:
        command["url"] = router_url
    fixtures["commands"][0]["aliases"] += [JOB_INTENT, *FAILING_INTENTS]
    path.write_text(json.dumps(fixtures, indent=2), encoding="utf-8")
    return World.from_fixtures(fixtures)


class AppFleet:
    """The app processes, by index; `kill` and `restart` keep the index and the port."""

    def __init__(self, ports: list[int], start: Callable[[str, int], ServerProcess]) -> None:
        self.ports = ports
        self._start = start
        self._lock = threading.Lock()
        self._incarnations = [0] * len(ports)
        self._down: set[int] = set()
        with ThreadPoolExecutor(max_workers=len(ports)) as pool:
            starting = [pool.submit(start, self._name(i), port) for i, port in enumerate(ports)]
        started = [f.result() for f in starting if f.exception() is None]
        failed = [f.exception() for f in starting if f.exception() is not None]
        if failed:
            for server in started:
                server.stop()
            raise RuntimeError(f"{len(failed)} of {len(ports)} apps did not start") from failed[0]
        self._processes = started
        self.logs: list[Path] = [p.log_path for p in self._processes]

    def _name(self, index: int) -> str:
        return f"app{index}-run{self._incarnations[index]}"

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/dailybot"

    def live(self) -> list[int]:
        """Indexes of the apps taking traffic (a killed one is out until it is back)."""
        with self._lock:
            return [i for i in range(len(self.ports)) if i not in self._down]

    def kill(self, index: int) -> int | None:
        """SIGKILL, as a crashed container; answers the exit status (-9)."""
        with self._lock:
            self._down.add(index)
        process = self._processes[index].process
        process.kill()
        return process.wait(timeout=10)

    def restart(self, index: int) -> None:
        """A fresh process on the same port (a new container), taking traffic once ready."""
        self._incarnations[index] += 1
        server = self._start(self._name(index), self.ports[index])
        self._processes[index] = server
        self.logs.append(server.log_path)
        with self._lock:
            self._down.discard(index)

    def stop(self) -> None:
        for server in self._processes:
            server.stop()


class JobWorker:
    """`python app.py work` as a child process; `kill` is SIGKILL, `restart` a fresh one.
    Each incarnation logs to its own file under the run's `logs/`."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env = env
        self._logs_dir = logs
        self.logs: list[Path] = []
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        path = self._logs_dir / f"worker-run{len(self.logs)}.log"
        self.logs.append(path)
        with path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
                [sys.executable, *WORKER_COMMAND], cwd=ROOT, env=self._env, stdout=log, stderr=log
            )

    def log(self) -> str:
        """The current incarnation's log."""
        path = self.logs[-1]
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_draining(self, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while "the job worker is draining" not in self.log():
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"the job worker did not start:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the job worker was not draining within {timeout:g} s")
            time.sleep(0.1)

    def kill(self) -> int | None:
        """SIGKILL, by its PID; answers the exit status (-9)."""
        assert self._process is not None
        self._process.kill()
        return self._process.wait(timeout=10)

    def restart(self) -> bool:
        """A fresh worker; answers whether it drains again."""
        self.start()
        try:
            self.wait_draining()
        except RuntimeError:
            return False
        return True

    def stop(self) -> None:
        if self._process is not None:
            stop_child(self._process)


class Stack:
    """Everything a run needs running, started in parallel where it can be."""

    def __init__(self, settings: SoakSettings, router_url: str, directory: Path) -> None:
        self.logs = directory / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.world = soak_fixtures(router_url, directory / "fixtures.json")
        self._settings = settings
        self._servers: list[ServerProcess] = []
        self.table = f"soak-deliveries-{settings.seed}"
        self.jobs_db = directory / "jobs.sqlite3"
        moto_port, emulator_port = free_port(), free_port()
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self.emulator_url = f"http://127.0.0.1:{emulator_port}"
        try:
            # The apps and the worker need neither until the first delivery: all start at once.
            with ThreadPoolExecutor(max_workers=2) as pool:
                moto = pool.submit(self._start_moto, moto_port)
                emulator = pool.submit(self._start_emulator, emulator_port, directory)
                self.worker_environment = self._app_env(free_port())
                self.worker = JobWorker({**os.environ, **self.worker_environment}, self.logs)
                self.worker.start()
                self.apps = AppFleet([free_port() for _ in range(settings.apps)], self._start_app)
                moto.result()
                emulator.result()
            self._create_table()
            self.worker.wait_draining()
        except BaseException:
            self.stop()
            raise

    def _keep(self, server: ServerProcess) -> ServerProcess:
        self._servers.append(server)
        return server

    def _start_moto(self, port: int) -> ServerProcess:
        args = ["-m", "soak.serial_moto", "--host", "127.0.0.1", "--port", str(port)]
        return self._keep(
            start_server(
                "moto",
                args,
                port=port,
                ready_path="/moto-api/",
                log_dir=self.logs,
                timeout=STARTUP_SECONDS,
            )
        )

    def _start_emulator(self, port: int, directory: Path) -> ServerProcess:
        args = [
            "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--clock", "real", "--db", str(directory / "emulator.db"),
            "--fixtures", str(directory / "fixtures.json"),
            "--delivery-timeout", f"{REPLY_BUDGET_SECONDS:g}",
            "--redelivery-pause", f"{self._settings.redelivery_pause:g}",
        ]  # fmt: skip
        return self._keep(
            start_server(
                "emulator",
                args,
                port=port,
                ready_path="/_emulator/health",
                log_dir=self.logs,
                timeout=STARTUP_SECONDS,
            )
        )

    def _create_table(self) -> None:
        # moto's server takes any credentials; explicit ones keep botocore from looking.
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )
        client.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    @property
    def _emulator_port(self) -> int:
        return int(self.emulator_url.rsplit(":", 1)[1])

    def _app_env(self, port: int) -> dict[str, str]:
        """Every app's environment (and the worker's): the shared table and jobs queue."""
        return {
            **app_environment(Ports(emulator=self._emulator_port, app=port)),
            "IDEMPOTENCY_STORE": f"dynamodb://{self.table}",
            "IDEMPOTENCY_DYNAMODB_ENDPOINT": self.moto_url,
            "IDEMPOTENCY_LOCK_SECONDS": str(self._settings.lock_seconds),
            "DAILYBOT_MAX_DELIVERY_AGE": str(self._settings.max_age_seconds),
            "POWERTOOLS_LOG_LEVEL": self._settings.log_level,
            "JOBS_QUEUE": f"sqlite:///{self.jobs_db}",
            "DAILYBOT_EXTRA_COMMANDS": "soak.job_commands",
            # A short backoff, and a job timeout (the claim's lock and the queue's visibility
            # window) that a killed worker's job outlives within the phase.
            "JOBS_ATTEMPTS": "3",
            "JOBS_BACKOFF_SECONDS": "0.3",
            "JOBS_TIMEOUT_SECONDS": str(self._settings.job_timeout_seconds),
        }

    def _start_app(self, name: str, port: int) -> ServerProcess:
        return start_server(
            name,
            app_command(Ports(emulator=self._emulator_port, app=port)),
            port=port,
            ready_path="/health",
            log_dir=self.logs,
            env=self._app_env(port),
            timeout=STARTUP_SECONDS,
        )

    def stop(self) -> None:
        if hasattr(self, "worker"):
            self.worker.stop()
        if hasattr(self, "apps"):
            self.apps.stop()
        for server in reversed(self._servers):
            server.stop()
