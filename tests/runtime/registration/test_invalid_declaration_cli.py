"""A command module with a declaration the platform would refuse fails where its author runs
it: importing the app raises, and `make sync --dry-run` and `make run` say it in one line
naming the handler and the fix, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port

MESSAGES = {
    "hour_25": (
        "@scheduled('nightly') on tests.runtime.registration.invalid.hour_25.nightly_report:"
        " cron '0 25 * * *': the hour field has 25, out of range: it takes 0-23."
        " For example cron='0 9 * * 1-5' (weekdays at 09:00)"
    ),
    "kudos_given": (
        "@event('kudos.given') on tests.runtime.registration.invalid.kudos_given.thank:"
        " 'kudos.given' is not an event Dailybot sends; did you mean 'kudos.posted'?"
    ),
}


def _run(module: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DAILYBOT_EXTRA_COMMANDS": f"tests.runtime.registration.invalid.{module}",
        **extra,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("module", sorted(MESSAGES))
def test_importing_the_app_fails_naming_the_handler(module: str) -> None:
    done = _run(module, "-c", "import app")

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("chalicelib.runtime.declarations.InvalidDeclaration: ")
    assert MESSAGES[module] in last


@pytest.mark.parametrize("module", sorted(MESSAGES))
def test_make_sync_dry_run_says_it_in_one_line(module: str) -> None:
    done = _run(module, "app.py", "sync", "--dry-run")

    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {MESSAGES[module]}")
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_make_run_says_it_and_stops(tmp_path: Path) -> None:
    ports = ["--emulator-port", str(free_port()), "--app-port", str(free_port())]

    done = _run("hour_25", "-m", "devstack", *ports, DEVSTACK_STATE_DIR=str(tmp_path))

    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {MESSAGES['hour_25']}")
    assert "Traceback" not in done.stderr
