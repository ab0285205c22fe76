"""`make sync`: the plan it prints, what it applies, and its clear errors (exit 2, no traceback)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import registry
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.plan import HookSubscription
from chalicelib.runtime.registration.sync import EXIT_ERROR, EXIT_OK, main
from tests.runtime.registration.conftest import (
    ACME,
    ACME_KEY,
    JANE,
    NAMESPACE,
    Platform,
    new_lock,
)
from tests.servers import ROOT, free_port

PUBLIC_URL = "http://127.0.0.1:8999/dailybot"


class Declared:
    def __init__(self, *schedules: ScheduleDeclaration, events: tuple[str, ...] = ()) -> None:
        self.schedules = list(schedules)
        self.events = [EventDeclaration(name) for name in events]

    def declared_schedules(self) -> list[ScheduleDeclaration]:
        return self.schedules

    def declared_events(self) -> list[EventDeclaration]:
        return self.events


def sync_env(platform: Platform, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DAILYBOT_API_URL": platform.api_url,
        "DAILYBOT_API_KEY": ACME_KEY,
        "DAILYBOT_OWNER_UUID": JANE,
        "DAILYBOT_OWNER_ORGANIZATION": ACME,
        "DAILYBOT_PUBLIC_URL": PUBLIC_URL,
        "DAILYBOT_REGISTRY_NAMESPACE": NAMESPACE,
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp_path / 'idempotency.sqlite3'}",
        **extra,
    }


def run(*argv: str, **options: object) -> tuple[int, str, str]:
    """`make sync` in process; the shipped commands' declarations unless told otherwise."""
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("declarations", registry)
    status = main(list(argv), out=out, err=err, **options)  # type: ignore[arg-type]
    return status, out.getvalue(), err.getvalue()


def summary(out: str) -> str:
    """The one organization's summary line (applied, plan, up to date, ...)."""
    (line,) = [line for line in out.splitlines() if line.startswith("  ") and ": " in line[:16]]
    return line.strip()


def declared() -> tuple[list[str], str | None]:
    """The names of the schedules the deployment declares, and its event hook's line."""
    hook = HookSubscription.union(registry.declared_events())
    return [d.name for d in registry.declared_schedules()], hook and hook.describe()


def test_sync_registers_the_shipped_declarations_then_reports_them_unchanged(
    platform: Platform, tmp_path: Path
) -> None:
    env = sync_env(platform, tmp_path)
    schedules, hook = declared()
    steps = len(schedules) + (hook is not None)

    status, out, err = run(env=env, transport=platform.transport)
    again_status, again, _ = run(env=env, transport=platform.transport)

    assert (status, err) == (EXIT_OK, "")
    assert "daily-digest" in schedules
    assert hook is not None
    assert "kudos.posted" in hook
    for name in schedules:
        assert f"  created    schedule {name}  (uuid " in out
        assert f"  unchanged  schedule {name}  (uuid " in again
    assert f"  created    event hook {hook}  (hook " in out
    assert f"  unchanged  event hook {hook}" in again
    assert summary(out).startswith("applied: ")
    assert f"organization {ACME} (as {JANE}, the owner's)" in out
    assert out.splitlines()[-1] == "1 organization(s): 1 done, 0 failed"
    assert again_status == EXIT_OK
    assert summary(again) == f"up to date: 0 created, 0 updated, 0 deleted, {steps} unchanged"
    assert len(platform.schedules_named("daily-digest")) == 1
    # Standup reminders are created by the command at run time, never by sync.
    assert platform.schedules_named("standup-reminder") == []


def test_dry_run_prints_the_plan_and_changes_nothing(platform: Platform, tmp_path: Path) -> None:
    declared = Declared(
        ScheduleDeclaration("daily-digest", "0 9 * * 1-5"), events=("kudos.posted",)
    )

    status, out, _ = run(
        "--dry-run",
        env=sync_env(platform, tmp_path),
        transport=platform.transport,
        declarations=declared,
    )

    assert status == EXIT_OK
    assert "dry run: nothing is changed" in out
    assert summary(out) == "plan: 2 created, 0 updated, 0 deleted, 0 unchanged"
    assert "  created    schedule daily-digest  (declared, not registered yet)" in out
    assert platform.transport.writes() == []
    assert platform.schedules_named("daily-digest") == []


def test_sync_repairs_a_schedule_deleted_on_dailybot(platform: Platform, tmp_path: Path) -> None:
    env = sync_env(platform, tmp_path)
    declared = Declared(ScheduleDeclaration("daily-digest", "0 9 * * 1-5"))
    run(env=env, transport=platform.transport, declarations=declared)
    (row,) = platform.schedules_named("daily-digest")
    platform.client.delete_schedule(row["uuid"], exchange_token=platform.tokens().token())

    status, out, _ = run(env=env, transport=platform.transport, declarations=declared)

    assert status == EXIT_OK
    assert "lost on Dailybot: GET answered 404" in out
    (repaired,) = platform.schedules_named("daily-digest")
    assert repaired["uuid"] != row["uuid"]


def test_no_verify_trusts_the_stored_state(platform: Platform, tmp_path: Path) -> None:
    env = sync_env(platform, tmp_path)
    declared = Declared(ScheduleDeclaration("daily-digest", "0 9 * * 1-5"))
    run(env=env, transport=platform.transport, declarations=declared)
    platform.transport.clear()

    status, out, _ = run(
        "--no-verify", env=env, transport=platform.transport, declarations=declared
    )

    assert status == EXIT_OK
    assert "up to date" in out
    assert not any(r.method == "GET" for r in platform.transport.sent)


def test_a_removed_declaration_is_reported_deleted(platform: Platform, tmp_path: Path) -> None:
    env = sync_env(platform, tmp_path)
    run(
        env=env,
        transport=platform.transport,
        declarations=Declared(
            ScheduleDeclaration("weekly", "0 17 * * 5"), events=("kudos.posted",)
        ),
    )

    status, out, _ = run(env=env, transport=platform.transport, declarations=Declared())

    assert status == EXIT_OK
    assert "  deleted    schedule weekly  (uuid " in out
    assert "  deleted    event hook kudos.posted  (no events declared)" in out
    assert platform.hooks() == []
    _, after, _ = run(env=env, transport=platform.transport, declarations=Declared())
    assert "  unchanged  schedules  (none declared)" in after
    assert "  unchanged  event hook  (no events declared)" in after


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DAILYBOT_API_KEY must be set"),
        (
            {"DAILYBOT_API_KEY": "k", "IDEMPOTENCY_STORE": "sqlite:///:memory:"},
            "no organization has used the command yet: set DAILYBOT_OWNER_ORGANIZATION",
        ),
        ({"DAILYBOT_RECONCILE_PERIOD": "soon"}, "DAILYBOT_RECONCILE_PERIOD must be a number"),
    ],
)
def test_missing_or_bad_settings_are_a_clear_error(env: dict[str, str], message: str) -> None:
    status, out, err = run(env=env)

    assert status == EXIT_ERROR
    assert err.startswith(f"sync: error: {message}")
    assert err.count("\n") == 1
    assert out == ""


def test_an_unknown_owner_is_a_clear_error(platform: Platform, tmp_path: Path) -> None:
    env = sync_env(platform, tmp_path, DAILYBOT_OWNER_UUID="dddddddd-dddd-4ddd-8ddd-dddddddddddd")

    status, _, err = run(env=env, transport=platform.transport)

    assert status == EXIT_ERROR
    assert err.startswith(
        f"sync: error: organization {ACME}: could not fetch an exchange token for dddddddd-"
    )
    assert "Traceback" not in err


def test_an_unreachable_platform_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        "DAILYBOT_API_URL": f"http://127.0.0.1:{free_port()}/v1/",
        "DAILYBOT_API_KEY": ACME_KEY,
        "DAILYBOT_OWNER_UUID": JANE,
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp_path / 'store.sqlite3'}",
    }

    status, _, err = run(env=env)

    assert status == EXIT_ERROR
    assert err.startswith("sync: error: ")
    assert ACME_KEY not in err


def test_a_reconcile_running_elsewhere_is_reported(platform: Platform, tmp_path: Path) -> None:
    other = new_lock(tmp_path / "idempotency.sqlite3")
    assert other.acquire(f"reconcile:{NAMESPACE}:registration:{ACME}")

    status, out, err = run(env=sync_env(platform, tmp_path), transport=platform.transport)

    assert status == EXIT_ERROR
    assert "another reconcile is running" in err
    assert "skipped: another reconcile holds the lock" in out
    assert platform.schedules_named("daily-digest") == []


def test_make_sync_dry_run_as_a_process(platform: Platform, tmp_path: Path) -> None:
    env = {**os.environ, **sync_env(platform, tmp_path)}

    done = subprocess.run(
        [sys.executable, "app.py", "sync", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == EXIT_OK, done.stderr
    schedules, hook = declared()
    for name in schedules:
        assert f"created    schedule {name}  (declared, not registered yet)" in done.stdout
    assert f"created    event hook {hook}  (events declared, no hook yet)" in done.stdout


def test_a_broken_idempotency_store_is_a_clear_error(platform: Platform, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = sync_env(platform, tmp_path, IDEMPOTENCY_STORE=f"sqlite:///{blocker / 'x.sqlite3'}")

    status, _, err = run(env=env, transport=platform.transport)

    assert status == EXIT_ERROR
    assert err.startswith("sync: error: the idempotency store failed")
    assert platform.schedules_named("daily-digest") == []


def test_a_refused_api_key_is_named_in_the_error(platform: Platform, tmp_path: Path) -> None:
    env = sync_env(platform, tmp_path, DAILYBOT_API_KEY="not-a-key")

    status, out, err = run("--dry-run", env=env, transport=platform.transport)

    assert status == EXIT_ERROR
    assert err.startswith("sync: error: the platform refused DAILYBOT_API_KEY")
    assert err.count("\n") == 1
    assert out == ""


def test_make_sync_dry_run_from_a_clean_environment(platform: Platform, tmp_path: Path) -> None:
    # Only what the documentation lists, plus PATH: no virtualenv activated, no AWS settings.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **sync_env(platform, tmp_path)}
    if "DAILYBOT_EXTRA_COMMANDS" in os.environ:  # commands this test process loaded too
        env["DAILYBOT_EXTRA_COMMANDS"] = os.environ["DAILYBOT_EXTRA_COMMANDS"]
    schedules, hook = declared()
    steps = len(schedules) + (hook is not None)

    done = subprocess.run(
        ["make", "--no-print-directory", "sync", "ARGS=--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == EXIT_OK, done.stderr
    assert "dry run: nothing is changed" in done.stdout
    assert f"plan: {steps} created, 0 updated, 0 deleted, 0 unchanged" in done.stdout
    assert platform.schedules_named("daily-digest") == []
    assert "Traceback" not in done.stderr
