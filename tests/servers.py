"""Starting and stopping the real servers tests talk to: each bound to 127.0.0.1, stopped by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.local_processes import free_port, stop_child

__all__ = [
    "ROOT",
    "ServerProcess",
    "free_port",
    "moto_server",
    "start_devstack",
    "start_server",
    "stop_child",
]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server (the real AWS APIs, in this process) on a free port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class ServerProcess:
    """A server started as a child process; `stop()` ends it by its own PID."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def stop(self) -> None:
        stop_child(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(
    name: str,
    args: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 30.0,
) -> ServerProcess:
    """Start `python args...` and wait until `GET ready_path` answers below 500."""
    log_path = log_dir / f"{name}-{port}.log"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(name, process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.base_url + ready_path, timeout=1.0).status_code < 500:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not become ready in {timeout} s:\n{server.log()}")


def start_devstack(
    log_dir: Path, *, emulator_port: int, app_port: int, extra_args: Sequence[str] = ()
) -> ServerProcess:
    """`python -m devstack` (`make run`) on these ports, its state under `log_dir/state`;
    answers once it printed its banner (the app answers too by then)."""
    ports = ["--emulator-port", str(emulator_port), "--app-port", str(app_port)]
    devstack = start_server(
        "devstack",
        ["-m", "devstack", *ports, *extra_args],
        port=emulator_port,
        ready_path="/_emulator/health",
        log_dir=log_dir,
        env={"DEVSTACK_STATE_DIR": str(log_dir / "state")},
        timeout=60,
    )
    deadline = time.monotonic() + 60
    while "playground: " not in devstack.log():
        if time.monotonic() > deadline or devstack.process.poll() is not None:
            devstack.stop()
            raise RuntimeError(f"devstack did not start:\n{devstack.log()}")
        time.sleep(0.2)
    return devstack
