"""The emulator as a real process for tests, and a receiver standing in for a command.

``start_emulator`` is generic on purpose so that other test suites can reuse it to run the
emulator as a real process over HTTP. The pytest fixtures built on these are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.emulator.emulator_world import ACME_KEY, JANE
from tests.servers import ROOT, free_port

DEFAULT_FIXTURES = ROOT / "emulator" / "fixtures" / "default.json"
TOKEN_PATH = "/v1/auth/fetch-command-exchange-token/"
STARTUP_SECONDS = 20.0


@dataclass
class EmulatorProcess:
    """A running emulator server process."""

    base_url: str
    db: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers=headers or {}, timeout=30.0, trust_env=False
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_emulator(
    tmp_path: Path,
    *,
    fixtures: Path | None = None,
    clock: str = "virtual",
    extra_args: Sequence[str] = (),
    db: str | None = None,
    port: int | None = None,
) -> EmulatorProcess:
    """Start ``python -m emulator serve`` on ``port`` (a free one by default) and wait until it
    is healthy."""
    port = port or free_port()
    db = db if db is not None else str(tmp_path / f"emulator-{port}.db")
    log_path = tmp_path / f"emulator-{port}-{time.monotonic_ns()}.log"
    command = [
        sys.executable,
        "-m",
        "emulator",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--fixtures",
        str(fixtures or DEFAULT_FIXTURES),
        "--db",
        db,
        "--clock",
        clock,
        "--redelivery-pause",
        "0.05",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    handle = EmulatorProcess(f"http://127.0.0.1:{port}", db, log_path, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}:\n{handle.log()}")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(
                f"{handle.base_url}/_emulator/health", timeout=1.0, trust_env=False
            )
            if response.status_code == 200 and response.json() == {"status": "ok"}:
                return handle
        time.sleep(0.05)
    handle.stop()
    raise RuntimeError(f"emulator did not become healthy:\n{handle.log()}")


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CommandReceiver:
    """A tiny HTTP server standing in for a command: records requests, answers as told."""

    requests: list[ReceivedRequest] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    delays: deque[float] = field(default_factory=deque)
    reply: Any = field(default_factory=lambda: {"message": "ok"})
    # Headers of every answer: a test plays the runtime's `X-Correlation-Id` with these.
    answer_headers: dict[str, str] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer_next(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.json for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


def _handler_for(receiver: CommandReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(
                ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if receiver.delays:
                time.sleep(receiver.delays.popleft())
            status = receiver.statuses.popleft() if receiver.statuses else 200
            reply = receiver.reply if status < 400 else {"message": "failed"}
            data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            content_type = "text/plain" if isinstance(reply, str) else "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in receiver.answer_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextlib.contextmanager
def running_receiver() -> Iterator[CommandReceiver]:
    """A command receiver listening on a free port of 127.0.0.1 until the block ends."""
    receiver = CommandReceiver()
    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def fixtures_pointing_to(url: str, tmp_path: Path) -> Path:
    """The default fixtures with Acme's command at ``url/acme`` and Globex's at ``url/globex``."""
    world = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    for command, suffix in zip(world["commands"], ("acme", "globex"), strict=True):
        command["url"] = f"{url}/{suffix}"
    path = tmp_path / "fixtures.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path


def as_user(http: httpx.Client, user: str = JANE, key: str = ACME_KEY) -> dict[str, str]:
    """Platform API headers acting as ``user``: the key and a fresh exchange token."""
    response = http.post(TOKEN_PATH, headers={"X-API-KEY": key}, json={"user_uuid": user})
    assert response.status_code == 200, response.text
    return {"X-API-KEY": key, "X-EXCHANGE-TOKEN": response.json()["token"]}
