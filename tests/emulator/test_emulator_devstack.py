"""`make run`'s stack (`python -m devstack`) with the emulator's command line: what the banner
and the README tell a person to type works, `trigger kudos.posted` reaches the app's handler,
and `--export-on-exit` then `--import` brings a scenario back, whether the stack is stopped with
SIGTERM or with Ctrl-C in its terminal."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers import ROOT, free_port, stop_child

STARTUP_SECONDS = 90


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    emulator: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.emulator}/_emulator/{path}", json=body, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emulator", *args, "--url", self.emulator],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


@contextmanager
def devstack(tmp_path: Path, *args: str) -> Iterator[Stack]:
    """`python -m devstack` in a session of its own (as a terminal runs `make run`)."""
    emulator_port, app_port = free_port(), free_port()
    log_path = tmp_path / f"devstack-{emulator_port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "devstack", "--clock", "virtual",
                "--emulator-port", str(emulator_port), "--app-port", str(app_port), *args,
            ],
            cwd=ROOT,
            env={**os.environ, "DEVSTACK_STATE_DIR": str(tmp_path / f"state-{emulator_port}")},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    stack = Stack(process, f"http://127.0.0.1:{emulator_port}", log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "Ctrl-C stops them all." not in stack.log():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"devstack did not start:\n{stack.log()}")
            time.sleep(0.2)
        yield stack
    finally:
        stop_child(process, grace=30)


def stop(stack: Stack, how: str) -> None:
    """SIGTERM to devstack, or Ctrl-C: SIGINT to every process of its terminal's group."""
    if how == "ctrl-c":
        os.killpg(stack.process.pid, signal.SIGINT)
    else:
        stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=45) is not None


def kudos_count(stack: Stack) -> int:
    values = [e["value"] for e in stack.control("GET", "storage") if e["key"] == "kudos_count"]
    return int(values[0]) if values else 0


def banner_commands(text: str, emulator: str) -> list[list[str]]:
    """The commands a banner or the README shows, pointed at this stack's emulator."""
    commands = []
    for raw in text.splitlines():
        line = raw.strip().removeprefix("$ ")
        if line.startswith("curl ") or " -m emulator " in line:
            pointed = line.split("   (")[0].replace("http://127.0.0.1:8001", emulator)
            words = shlex.split(pointed)
            if words[0] != "curl":
                words = [sys.executable, *words[1:]]
                if "--url" not in words:
                    words += ["--url", emulator]
            commands.append(words)
    return commands


def readme_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running it locally", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```\n(.*?)```", section, flags=re.S))


def test_the_banner_and_the_readme_commands_work_and_trigger_reaches_the_handler(
    tmp_path: Path,
):
    with devstack(tmp_path) as stack:
        banner = stack.log()
        commands = banner_commands(banner, stack.emulator)
        from_readme = banner_commands(readme_block(), stack.emulator)
        results = [
            subprocess.run(c, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
            for c in [*commands, *from_readme]
        ]
        # The app registers its hook on its first delivery (which the commands above made).
        before = kudos_count(stack)
        triggered = stack.cli("trigger", "kudos.posted")
        after = kudos_count(stack)

    assert len(commands) >= 5
    assert len(from_readme) >= len(commands)
    for command, result in zip([*commands, *from_readme], results, strict=True):
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        if command[0] == "curl" and "/invoke" in command[-3]:
            assert json.loads(result.stdout)["status_code"] == 200, (command, result.stdout)
    assert triggered.returncode == 0, triggered.stderr
    assert triggered.stdout.splitlines()[0] == "kudos.posted published in Acme: 1 hook(s) called"
    assert triggered.stdout.splitlines()[1].startswith("  remember: 200")
    assert after == before + 1


def scenario(stack: Stack) -> str:
    """A stored value and the user's own schedule, made through the app."""
    remembered = stack.cli("invoke", "remember color blue")
    scheduled = stack.cli("invoke", "standup-reminder on 0 9 * * 1-5", "--user", "John")
    assert remembered.returncode == 0, remembered.stderr
    assert scheduled.returncode == 0, scheduled.stderr
    schedules = stack.control("GET", "schedules")
    [schedule] = [s for s in schedules if s["name"] == "standup-reminder"]
    return str(schedule["uuid"])


def check_brought_back(tmp_path: Path, saved: Path, schedule: str) -> None:
    with devstack(tmp_path, "--import", str(saved)) as stack:
        recalled = stack.cli("invoke", "recall color")
        schedules = {s["uuid"]: s for s in stack.control("GET", "schedules")}
    assert recalled.stdout.strip() == "*color* is `blue`.", recalled
    assert schedules[schedule]["name"] == "standup-reminder"
    assert schedules[schedule]["next_fire_at"] is not None


def run_and_stop(tmp_path: Path, saved: Path, how: str) -> str:
    with devstack(tmp_path, "--export-on-exit", str(saved)) as stack:
        schedule = scenario(stack)
        stop(stack, how)
        log = stack.log()
    assert saved.exists(), log
    assert "Traceback" not in log
    return schedule


def test_make_run_exports_on_sigterm_and_imports_on_start(tmp_path: Path):
    saved = tmp_path / "scenario.json"
    check_brought_back(tmp_path, saved, run_and_stop(tmp_path, saved, "sigterm"))


def test_make_run_exports_on_ctrl_c(tmp_path: Path):
    saved = tmp_path / "scenario.json"
    check_brought_back(tmp_path, saved, run_and_stop(tmp_path, saved, "ctrl-c"))


def test_devstack_passes_the_state_flags_to_the_emulator(tmp_path: Path, monkeypatch: Any) -> None:
    from devstack import stack as devstack_stack
    from devstack.__main__ import _state_arguments
    from devstack.stack import Ports, emulator_command

    monkeypatch.setattr(devstack_stack, "STATE_DIR", tmp_path)
    options: Any = type("Options", (), {"import_path": Path("in.json"), "export_path": None})
    state: Sequence[str] = _state_arguments(options)
    args = emulator_command(Ports(), [], "real", state)
    assert args[-2:] == ["--import", str((Path.cwd() / "in.json").resolve())]
