"""A declaration the platform refuses fails alone: the others are registered, and the refusal
names its handler in the log, the activity log and `make sync`'s report.

The runtime checks declarations before the platform sees them, so to get a refusal these
tests change a checked declaration behind the check's back (`refused_by_the_platform`): what
a platform stricter than the runtime's checks would answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.plan import DesiredRegistration
from chalicelib.runtime.registration.reconciler import Reconciler, ReconcileStatus, Refusal
from chalicelib.runtime.registration.sync import EXIT_ERROR, main
from tests.runtime.registration.conftest import ACME, NAMESPACE, Platform
from tests.runtime.registration.test_cold_start import PERIOD, Hook
from tests.runtime.registration.test_sync_cli import sync_env

URL = "http://127.0.0.1:8999/dailybot"
DIGEST = ScheduleDeclaration("daily-digest", cron="0 9 * * 1-5", handler="drills.digest")
WEEKLY = ScheduleDeclaration("weekly", cron="0 17 * * 5", handler="drills.weekly")
KUDOS = EventDeclaration("kudos.posted", handler="drills.kudos")


def refused_by_the_platform(name: str = "strict", cron: str = "0 0 31 2 *") -> ScheduleDeclaration:
    declaration = ScheduleDeclaration(name, cron="0 9 * * *", handler=f"drills.{name}")
    object.__setattr__(declaration, "cron", cron)
    return declaration


class Declared:
    def __init__(self, *schedules: ScheduleDeclaration, events: tuple[EventDeclaration, ...]):
        self.schedules = list(schedules)
        self.events = list(events)

    def declared_schedules(self) -> list[ScheduleDeclaration]:
        return self.schedules

    def declared_events(self) -> list[EventDeclaration]:
        return self.events

    def desired(self) -> DesiredRegistration:
        return DesiredRegistration.from_declarations(self.schedules, self.events, URL)


def error_records(platform: Platform) -> list[tuple[str | None, object]]:
    records = platform.client.list_activity(exchange_token=platform.tokens().token())
    return [
        (r.label, r.metadata.get("declaration"))
        for r in records
        if (r.category, r.action) == ("error", "registration_failed")
    ]


def test_a_refused_schedule_fails_alone_and_names_its_handler(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    declared = Declared(DIGEST, refused_by_the_platform(), WEEKLY, events=(KUDOS,))

    result = Reconciler(namespace=NAMESPACE).reconcile(declared.desired(), platform.session())

    assert result.status is ReconcileStatus.APPLIED
    assert not result.done
    (refusal,) = result.refused
    assert (refusal.subject, refusal.handlers) == ("schedule strict", ("drills.strict",))
    assert refusal.reason.startswith("Dailybot API answered 400")
    assert "never fires" in refusal.reason
    assert len(platform.schedules_named("daily-digest")) == 1
    assert len(platform.schedules_named("weekly")) == 1
    assert platform.schedules_named("strict") == []
    (hook,) = platform.hooks()
    assert json.loads(hook["subscriptions"]) == ["kudos.posted"]
    assert error_records(platform) == [("drills.strict", "schedule strict")]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert logged == [f"self-registration: {refusal.describe()}"]
    assert "declared by drills.strict: Dailybot API answered 400" in logged[0]


def test_the_next_reconcile_tries_the_refused_one_again_and_settles_once_it_is_fixed(
    platform: Platform,
) -> None:
    reconciler = Reconciler(namespace=NAMESPACE)
    declared = Declared(DIGEST, refused_by_the_platform(), events=(KUDOS,))
    reconciler.reconcile(declared.desired(), platform.session())
    platform.transport.clear()

    again = reconciler.reconcile(declared.desired(), platform.session())
    declared.schedules[1] = ScheduleDeclaration("strict", cron="0 9 1 * *", handler="d.strict")
    fixed = reconciler.reconcile(declared.desired(), platform.session())
    after = reconciler.reconcile(declared.desired(), platform.session())

    assert [step.name for step in again.plan.schedules if step.outcome == "created"] == ["strict"]
    assert len(again.refused) == 1
    assert (fixed.refused, fixed.done) == ((), True)
    assert len(platform.schedules_named("strict")) == 1
    assert after.status is ReconcileStatus.UP_TO_DATE
    assert len(platform.schedules_named("daily-digest")) == 1


def test_a_refused_change_keeps_the_schedule_as_it_was(platform: Platform) -> None:
    reconciler = Reconciler(namespace=NAMESPACE)
    reconciler.reconcile(Declared(WEEKLY, events=()).desired(), platform.session())

    changed = Declared(refused_by_the_platform("weekly", "0 0 30 2 *"), DIGEST, events=())
    result = reconciler.reconcile(changed.desired(), platform.session())

    (refusal,) = result.refused
    assert refusal.subject == "schedule weekly"
    (row,) = platform.schedules_named("weekly")
    assert row["cron"] == "0 17 * * 5"
    assert len(platform.schedules_named("daily-digest")) == 1
    stored = reconciler.read_state(platform.session())
    assert stored.desired_fingerprint is None
    assert stored.schedules["weekly"].fields["cron"] == "0 17 * * 5"


def test_a_refused_hook_fails_alone(platform: Platform) -> None:
    unknown = EventDeclaration("kudos.posted", handler="drills.thanks")
    object.__setattr__(unknown, "event", "kudos.given")
    declared = Declared(DIGEST, events=(unknown,))

    result = Reconciler(namespace=NAMESPACE).reconcile(declared.desired(), platform.session())

    assert [(r.subject, r.handlers) for r in result.refused] == [
        ("event hook kudos.given", ("drills.thanks",))
    ]
    assert platform.hooks() == []
    assert len(platform.schedules_named("daily-digest")) == 1
    assert result.hook_uuid is None


def test_make_sync_shows_the_refusal_and_exits_2_after_applying_the_rest(
    platform: Platform, tmp_path: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    declared = Declared(DIGEST, refused_by_the_platform(), events=(KUDOS,))

    status = main(
        [],
        declarations=declared,
        env=sync_env(platform, tmp_path),
        transport=platform.transport,
        out=out,
        err=err,
    )

    assert status == EXIT_ERROR
    lines = out.getvalue().splitlines()
    assert any(line.startswith("  created    schedule daily-digest  (uuid ") for line in lines)
    (refused,) = [line for line in lines if "strict" in line]
    assert refused.startswith(
        "  refused    schedule strict  (drills.strict; Dailybot API answered 400"
    )
    assert lines[-2:] == [
        "  applied: 3 created, 0 updated, 0 deleted, 0 unchanged; 1 refused by the platform",
        "1 organization(s): 0 done, 1 failed",
    ]
    assert err.getvalue().startswith(
        f"sync: error: organization {ACME}: the platform refused schedule strict declared by"
        " drills.strict: "
    )
    assert len(platform.schedules_named("daily-digest")) == 1


def test_a_cold_start_counts_the_refusal_and_waits_a_period_before_trying_again(
    platform: Platform, lock_store_path: Path
) -> None:
    hook = Hook(platform, lock_store_path, Declared(DIGEST, refused_by_the_platform(), events=()))

    hook.deliver()
    platform.transport.clear()
    hook.clock.now += PERIOD - 1
    hook.deliver()

    assert hook.errors == 1
    assert platform.transport.sent == []
    assert len(platform.schedules_named("daily-digest")) == 1
    hook.clock.now += 1
    hook.deliver()
    assert hook.errors == 2


def test_refusals_describe_themselves() -> None:
    refusal = Refusal("schedule", "gone", (), "Dailybot API answered 400")
    assert refusal.describe() == (
        "the platform refused schedule gone declared by no handler (no longer declared):"
        " Dailybot API answered 400"
    )


def test_a_refusal_the_activity_log_cannot_take_is_still_logged_and_returned(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    with platform.control() as control:
        control.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/activity/", "status": 500, "times": 5},
        ).raise_for_status()
    declared = Declared(DIGEST, refused_by_the_platform(), events=())

    result = Reconciler(namespace=NAMESPACE).reconcile(declared.desired(), platform.session())

    assert [r.subject for r in result.refused] == ["schedule strict"]
    assert len(platform.schedules_named("daily-digest")) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "could not record the refused declaration in the activity log" in warnings
