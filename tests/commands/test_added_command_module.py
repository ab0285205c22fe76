"""A team clones this repository and adds its own command module: the shipped tests still
pass. This copies the repository, adds a module declaring schedules and an event handler
(all recording activity, as real ones do) to `chalicelib/commands/`, and runs there the
shipped suites that assert what the registry declares."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.e2e

ADDED = '''"""A team's own commands: a weekly retro, an hourly check and form responses."""

from chalicelib.runtime import Context, event, scheduled


@scheduled("weekly-retro", cron="30 16 * * FRI")
def weekly_retro(ctx: Context) -> str:
    """Reminds the team of the retro on Fridays"""
    ctx.activity.record("schedule", "fired", label="weekly-retro")
    return "Retro in 30 minutes!"


@scheduled("hourly-check", execution_frequency=60)
def hourly_check(ctx: Context) -> None:
    """Checks something every hour"""
    ctx.activity.record("schedule", "fired", label="hourly-check")


@event("FORMS_RESPONSE_CREATED")
def form_answered(ctx: Context) -> None:
    """Counts form responses"""
    ctx.activity.record("event", "forms.response.created")
'''
SUITES = (
    "tests/commands/test_daily_digest_and_kudos.py",
    "tests/commands/test_examples.py",
    "tests/runtime/registration/test_self_registration_e2e.py",
    "tests/runtime/registration/test_sync_cli.py",
)


def clone_with_added_module(destination: Path) -> Path:
    """The repository's files as they are now (committed or not), plus the added module."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            # Times kept: make must see the virtualenv as newer than the requirements.
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to((ROOT / ".venv").resolve())
    (destination / "chalicelib" / "commands" / "team_rituals.py").write_text(ADDED)
    return destination


def clean_environment(clone: Path) -> dict[str, str]:
    """This environment without what ties it to this test run (coverage, xdist, pytest)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COV_CORE_", "PYTEST_", "COVERAGE_"))
    }
    env.pop("DAILYBOT_EXTRA_COMMANDS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["DEVSTACK_STATE_DIR"] = str(clone / ".local")
    return env


def test_the_shipped_suites_pass_with_a_team_s_command_module_added(tmp_path: Path) -> None:
    clone = clone_with_added_module(tmp_path / "clone")
    env = clean_environment(clone)
    python = str(clone / ".venv" / "bin" / "python")

    loaded = subprocess.run(
        [
            python,
            "-c",
            "from app import registry; print(sorted(registry.commands()) and"
            " [d.name for d in registry.declared_schedules()],"
            " [d.event for d in registry.declared_events()])",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    run = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", *SUITES],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert loaded.stdout.strip() == (
        "['daily-digest', 'hourly-check', 'weekly-retro']"
        " ['forms.response.created', 'kudos.posted']"
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
    assert "failed" not in run.stdout.splitlines()[-1]
