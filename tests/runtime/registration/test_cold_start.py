"""The self-registration check of a delivery: once per organization per container per period,
never failing the delivery."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.dailybot.deadline import Deadline
from chalicelib.observability import metrics
from chalicelib.runtime.composition import open_lock
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.cold_start import (
    ERROR_METRIC,
    OrganizationReconciler,
    count_reconcile_error,
)
from chalicelib.runtime.registration.reconciler import DeclarationSource
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.settings import Settings
from tests.clocks import FakeClock
from tests.runtime.jobs.messages import command
from tests.runtime.registration.conftest import ACME, JANE, NAMESPACE, Platform, new_lock

PERIOD = 600.0


def declaring_registry() -> CommandRegistry:
    commands = CommandRegistry()

    @commands.scheduled("daily-digest", cron="0 9 * * 1-5")
    def digest(ctx: object) -> str:
        return "digest"

    @commands.event("kudos.posted")
    def kudos(ctx: object) -> None:
        return None

    return commands


class Hook:
    """An `OrganizationReconciler` on the emulator, with its clock and error count exposed."""

    def __init__(
        self, platform: Platform, lock_path: Path, declarations: DeclarationSource | None = None
    ) -> None:
        self.platform = platform
        self.clock = FakeClock()
        self.errors = 0
        settings = Settings(
            api_url=platform.api_url,
            registry_namespace=NAMESPACE,
            reconcile_period_seconds=PERIOD,
            public_url="http://127.0.0.1:8999/dailybot",
        )
        self.reconciler = OrganizationReconciler(
            settings,
            declarations or declaring_registry(),
            new_lock(lock_path),
            self.clock,
            count_error=self.count,
        )

    def count(self) -> None:
        self.errors += 1

    def deliver(self) -> None:
        """What the intake does for one verified delivery (Jane's, in Acme)."""
        delivery = command("history", organization_uuid=ACME, user_uuid=JANE)
        self.reconciler.check(delivery, self.platform.session(deadline=Deadline.after(3.0)))


@pytest.fixture
def hook(platform: Platform, lock_store_path: Path) -> Hook:
    return Hook(platform, lock_store_path)


def test_the_first_delivery_registers_and_later_ones_in_the_period_cost_nothing(
    hook: Hook,
) -> None:
    hook.deliver()
    assert len(hook.platform.schedules_named("daily-digest")) == 1
    assert len(hook.platform.hooks()) == 1
    hook.platform.transport.clear()

    hook.clock.now += PERIOD - 1
    hook.deliver()

    assert hook.platform.transport.sent == []


def test_after_the_period_a_delivery_reads_the_state_and_checks_each_schedule(
    hook: Hook,
) -> None:
    hook.deliver()
    hook.platform.transport.clear()

    hook.clock.now += PERIOD
    hook.deliver()

    sent = [
        (r.method, r.path.rsplit("/", 2)[0], r.storage_op) for r in hook.platform.transport.sent
    ]
    # The state, a token for the checks (a delivery without one here), one GET a schedule.
    assert sent == [
        ("POST", "/v1/platform", "get"),
        ("POST", "/v1/auth", None),
        ("GET", "/v1/platform/scheduling", None),
    ]
    assert len(hook.platform.schedules_named("daily-digest")) == 1


def test_a_schedule_deleted_on_dailybot_comes_back_within_a_period(hook: Hook) -> None:
    hook.deliver()
    (row,) = hook.platform.schedules_named("daily-digest")
    lost = row["uuid"]
    platform = hook.platform
    platform.client.delete_schedule(lost, exchange_token=platform.tokens().token())

    hook.clock.now += PERIOD - 1
    hook.deliver()
    assert hook.platform.schedules_named("daily-digest") == []

    hook.clock.now += 1
    hook.deliver()
    (repaired,) = hook.platform.schedules_named("daily-digest")
    assert repaired["uuid"] != lost
    assert hook.errors == 0


def test_a_platform_failure_is_logged_counted_and_tried_again_later(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    with hook.platform.control() as control:
        control.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/storage/", "status": 503, "times": 100},
        ).raise_for_status()
        hook.deliver()  # does not raise: the delivery goes on
        hook.platform.transport.clear()
        hook.clock.now += 30
        hook.deliver()  # too soon to hammer a failing platform again
        assert hook.platform.transport.sent == []
        control.delete("/_emulator/faults").raise_for_status()

    hook.clock.now += 31
    hook.deliver()

    assert hook.errors == 1
    assert '"message":"self-registration failed; it will be tried again"' in capsys.readouterr().out
    assert len(hook.platform.schedules_named("daily-digest")) == 1


def test_losing_the_lock_to_another_container_is_not_counted_as_done(
    hook: Hook, lock_store_path: Path
) -> None:
    other = new_lock(lock_store_path)
    assert other.acquire(f"reconcile:{NAMESPACE}:registration:{ACME}")

    hook.deliver()
    assert hook.platform.schedules_named("daily-digest") == []
    other.release(f"reconcile:{NAMESPACE}:registration:{ACME}")
    hook.deliver()  # the very next delivery looks again

    assert hook.errors == 0
    assert len(hook.platform.schedules_named("daily-digest")) == 1


def test_the_cold_start_check_takes_its_lock_from_the_idempotency_store_setting(
    platform: Platform, tmp_path: Path
) -> None:
    settings = Settings(
        api_url=platform.api_url,
        registry_namespace=NAMESPACE,
        idempotency_store=f"sqlite:///{tmp_path / 'store.sqlite3'}",
    )

    built = OrganizationReconciler(settings, declaring_registry(), open_lock(settings))
    delivery = command("history", organization_uuid=ACME, user_uuid=JANE)
    built.check(delivery, platform.session(deadline=Deadline.after(3.0)))

    assert isinstance(built, OrganizationReconciler)
    assert NAMESPACE in repr(built)
    assert len(platform.schedules_named("daily-digest")) == 1


def test_a_bad_declaration_is_a_counted_failure_too(
    platform: Platform, lock_store_path: Path
) -> None:
    hook = Hook(platform, lock_store_path, _TwiceDeclared())

    hook.deliver()

    assert hook.errors == 1
    assert platform.transport.sent == []


class _TwiceDeclared:
    def declared_schedules(self) -> list[ScheduleDeclaration]:
        digest = ScheduleDeclaration("daily-digest", "0 9 * * 1-5")
        return [digest, replace(digest, cron="0 10 * * *")]

    def declared_events(self) -> list[EventDeclaration]:
        return []


def test_the_default_error_count_is_the_reconcile_errors_metric() -> None:
    try:
        count_reconcile_error()
        assert ERROR_METRIC in metrics.metric_set
    finally:
        metrics.clear_metrics()
