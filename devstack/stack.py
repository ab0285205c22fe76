"""Starting, watching and stopping the local processes (the emulator, `chalice local` and the
job worker), each by its own PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

ROOT: Final = Path(__file__).resolve().parent.parent
# Logs, the emulator's database and the idempotency store; tests point it at a temporary folder.
STATE_DIR: Final = Path(os.environ.get("DEVSTACK_STATE_DIR") or ROOT / ".local")
# `chalice` has no `__main__`; this runs its console script with the current interpreter.
CHALICE: Final = ("-c", "import sys; from chalice.cli import main; sys.exit(main())")

LOCAL_API_KEY: Final = "local-api-key-acme-0001"  # the emulator's default fixtures
LOCAL_OWNER: Final = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"  # Jane Doe, who owns Acme's command
LOCAL_OWNER_ORGANIZATION: Final = "11111111-1111-4111-8111-111111111111"  # Acme
# Each command's signature in the emulator's default fixtures, bound to that command.
LOCAL_COMMAND_SIGNATURES: Final = {
    "c0000000-0000-4000-8000-000000000001": "local-signature-acme-0001",
    "c0000000-0000-4000-8000-000000000002": "local-signature-globex-0002",
}
LOCAL_SIGNATURES: Final = ",".join(
    f"{command}:{signature}" for command, signature in LOCAL_COMMAND_SIGNATURES.items()
)


@dataclass(frozen=True)
class Ports:
    emulator: int = 8001
    app: int = 8000


def local_fixtures(ports: Ports, intents: Sequence[str] = ()) -> Path:
    """The default fixtures, with the commands pointing at this stack's app port.

    The first command (the deployment's, Acme's) is public, so the second organization's users
    (Globex's) use it too, and it also answers every intent in `intents` (the app's) that no
    command of its organization has yet, so a new command module is invocable without editing
    the fixtures.
    """
    fixtures = json.loads((ROOT / "emulator" / "fixtures" / "default.json").read_text())
    commands = fixtures.get("commands", [])
    for command in commands:
        command["url"] = f"http://127.0.0.1:{ports.app}/dailybot"
    if commands:
        first = commands[0]
        # The deployment's command is public: Globex's users use it too, in their organization.
        first["is_public"] = True
        taken = {
            name.casefold()
            for command in commands
            if command["organization_uuid"] == first["organization_uuid"]
            for name in (command["intent"], *command.get("aliases", []))
        }
        extra = [intent for intent in intents if intent.casefold() not in taken]
        first["aliases"] = [*first.get("aliases", []), *extra]
    path = STATE_DIR / "fixtures.json"
    path.write_text(json.dumps(fixtures, indent=2))
    return path


def emulator_command(
    ports: Ports, intents: Sequence[str] = (), clock: str = "real", state: Sequence[str] = ()
) -> list[str]:
    """The emulator's command line; `state` is `--import PATH` / `--export-on-exit PATH`."""
    return [
        "-m", "emulator", "serve",
        "--host", "127.0.0.1",
        "--port", str(ports.emulator),
        "--clock", clock,
        "--db", str(STATE_DIR / "emulator.db"),
        "--fixtures", str(local_fixtures(ports, intents)),
        *state,
    ]  # fmt: skip


# A stage `.chalice/config.json` does not define: its environment (made for deployments)
# must not override the one this stack builds for its own ports and paths.
LOCAL_STAGE: Final = "devstack"


def app_command(ports: Ports) -> list[str]:
    """`chalice local --no-autoreload` with a listen backlog that holds a burst (`local_app`)."""
    return [
        "-m", "devstack.local_app", "--stage", LOCAL_STAGE,
        "--host", "127.0.0.1", "--port", str(ports.app),
    ]  # fmt: skip


WORKER_COMMAND: Final = ("app.py", "work")
"""The job worker: drains the local jobs queue with the app's environment."""


def app_environment(ports: Ports) -> dict[str, str]:
    """What `chalice local` needs to talk to the emulator, with a fake AWS around it."""
    return {
        "DAILYBOT_API_URL": f"http://127.0.0.1:{ports.emulator}/v1/",
        "DAILYBOT_API_KEY": LOCAL_API_KEY,
        "DAILYBOT_SIGNATURES": LOCAL_SIGNATURES,
        "DAILYBOT_PUBLIC_URL": f"http://127.0.0.1:{ports.app}/dailybot",
        "DAILYBOT_OWNER_UUID": LOCAL_OWNER,
        "DAILYBOT_OWNER_ORGANIZATION": LOCAL_OWNER_ORGANIZATION,
        "IDEMPOTENCY_STORE": f"sqlite:///{STATE_DIR / 'idempotency.sqlite3'}",
        "JOBS_QUEUE": f"sqlite:///{STATE_DIR / 'jobs.sqlite3'}",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "dailybot-runtime",
        "POWERTOOLS_METRICS_NAMESPACE": "DailybotRuntime/local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Log lines reach .local/app.log as they happen, not when a buffer fills.
        "PYTHONUNBUFFERED": "1",
    }


class Process:
    """A child process with its output going to a log file under `.local/`, and its PID in
    `.local/<name>.pid` (what `kill` needs, and what tests read)."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.log_path = STATE_DIR / f"{name}.log"
        self.pid_path = STATE_DIR / f"{name}.pid"
        self._args = list(args)
        self._env = {**os.environ, **env}
        self.popen = self._start("wb")

    def _start(self, mode: str) -> subprocess.Popen[bytes]:
        with self.log_path.open(mode) as log:
            popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, *self._args],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid_path.write_text(f"{popen.pid}\n")
        return popen

    def running(self) -> bool:
        return self.popen.poll() is None

    def restart(self) -> None:
        """Starts it again after it exited, its log continued."""
        self.popen = self._start("ab")

    def stop(self) -> None:
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def wait_ready(process: Process, url: str, timeout: float = 60.0) -> None:
    """Until `url` answers below 500; raises if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running():
            raise RuntimeError(f"{process.name} exited; see {process.log_path}")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready after {timeout:.0f} s; see {process.log_path}")
