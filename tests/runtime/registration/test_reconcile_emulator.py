"""The reconcile engine against the emulator over HTTP: what it writes, and when it does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chalicelib.dailybot.errors import NotFound, ServerError
from chalicelib.dailybot.models import ScheduleSpec
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.idempotency.lock import ReconcileLockUnavailable
from chalicelib.runtime.registration.plan import DesiredRegistration, Outcome
from chalicelib.runtime.registration.reconciler import Reconciler, ReconcileStatus
from tests.runtime.registration.conftest import (
    NAMESPACE,
    CountingTransport,
    Platform,
    counted_client,
    new_lock,
)
from tests.servers import ROOT

DIGEST = ScheduleDeclaration(name="daily-digest", cron="0 9 * * 1-5")
KUDOS = EventDeclaration("kudos.posted")
PUBLIC_URL = "http://127.0.0.1:8999/dailybot"
# Acme's time zone in the emulator's default fixtures.
BOGOTA = ZoneInfo("America/Bogota")


@dataclass
class Declarations:
    """A registry's declarations, editable between reconciles like a redeploy would."""

    schedules: list[ScheduleDeclaration] = field(default_factory=lambda: [DIGEST])
    events: list[EventDeclaration] = field(default_factory=lambda: [KUDOS])

    def desired(self, url: str | None = PUBLIC_URL) -> DesiredRegistration:
        return DesiredRegistration.from_declarations(self.schedules, self.events, url)


def reconciler(platform: Platform, lock_path: Path | None = None) -> Reconciler:
    lock = new_lock(lock_path) if lock_path else None
    return Reconciler(namespace=NAMESPACE, lock=lock)


def test_first_reconcile_registers_the_schedule_and_the_hook_once(platform: Platform) -> None:
    result = reconciler(platform).reconcile(Declarations().desired(), platform.session())

    assert result.status is ReconcileStatus.APPLIED
    assert result.plan.counts()[Outcome.CREATED] == 2
    (row,) = platform.schedules_named("daily-digest")
    assert row["uuid"] == result.uuids["daily-digest"]
    schedule = platform.client.get_schedule(row["uuid"], exchange_token=platform.tokens().token())
    assert (schedule.cron, schedule.timezone_type, schedule.callback_url) == (
        "0 9 * * 1-5",
        "organization_timezone",
        PUBLIC_URL,
    )
    (hook,) = platform.hooks()
    assert hook["subscriptions"] == '["kudos.posted"]'
    assert str(hook["uuid"]) == result.hook_uuid
    # The schedule create, the hook and one final state write: nothing else.
    writes = [(r.method, r.path, r.storage_op) for r in platform.transport.writes()]
    assert writes == [
        ("POST", "/v1/platform/scheduling/", None),
        ("POST", "/v1/platform/storage/", "set"),
        ("POST", "/v1/platform/event-subscription/", None),
        ("POST", "/v1/platform/storage/", "set"),
    ]


def test_a_second_reconcile_is_one_storage_read_and_no_write(platform: Platform) -> None:
    engine = reconciler(platform)
    engine.reconcile(Declarations().desired(), platform.session())
    platform.transport.clear()

    result = engine.reconcile(Declarations().desired(), platform.session())

    assert result.status is ReconcileStatus.UP_TO_DATE
    assert [(r.method, r.path, r.storage_op) for r in platform.transport.sent] == [
        ("POST", "/v1/platform/storage/", "get")
    ]
    assert len(platform.schedules_named("daily-digest")) == 1


def test_changing_the_cron_updates_the_same_schedule(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    declared.schedules = [ScheduleDeclaration(name="daily-digest", cron="30 10 * * 1-5")]
    platform.transport.clear()

    second = engine.reconcile(declared.desired(), platform.session())

    (row,) = platform.schedules_named("daily-digest")
    assert row["uuid"] == first.uuids["daily-digest"] == second.uuids["daily-digest"]
    assert row["cron"] == "30 10 * * 1-5"
    (put,) = [r for r in platform.transport.sent if r.method == "PUT"]
    assert put.body == {"cron": "30 10 * * 1-5"}
    assert not any(r.path.endswith("/event-subscription/") for r in platform.transport.sent)


def test_removing_the_declarations_deletes_the_schedule_and_the_hook(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    declared.schedules, declared.events = [], []

    result = engine.reconcile(declared.desired(), platform.session())

    assert result.plan.counts()[Outcome.DELETED] == 2
    assert platform.schedules_named("daily-digest") == []
    assert platform.hooks() == []
    with pytest.raises(NotFound):
        platform.client.get_schedule(
            first.uuids["daily-digest"], exchange_token=platform.tokens().token()
        )
    assert engine.read_state(platform.session()).schedules == {}


def test_new_events_reregister_the_same_hook(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    declared.events = [KUDOS, EventDeclaration("forms.response.created", ("form-1",))]

    result = engine.reconcile(declared.desired(), platform.session())

    assert result.plan.hook is not None
    assert result.plan.hook.outcome is Outcome.UPDATED
    (hook,) = platform.hooks()
    assert hook["subscriptions"] == '["forms.response.created", "kudos.posted"]'
    # One declaration wants every object, so the hook is not narrowed.
    assert hook["subscribed_objects"] == "[]"
    assert result.hook_uuid == first.hook_uuid


def test_a_schedule_deleted_behind_our_back_is_repaired_by_a_verifying_reconcile(
    platform: Platform,
) -> None:
    engine = reconciler(platform)
    first = engine.reconcile(Declarations().desired(), platform.session())
    lost = first.uuids["daily-digest"]
    platform.client.delete_schedule(lost, exchange_token=platform.tokens().token())

    # The cold-start path trusts its fingerprints: one read, and it does not notice.
    cheap = engine.reconcile(Declarations().desired(), platform.session())
    verified = engine.reconcile(Declarations().desired(), platform.session(), verify=True)

    assert cheap.status is ReconcileStatus.UP_TO_DATE
    assert verified.status is ReconcileStatus.APPLIED
    (step,) = verified.plan.schedules
    assert step.outcome is Outcome.CREATED
    assert "404" in step.reason
    (row,) = platform.schedules_named("daily-digest")
    assert row["uuid"] == verified.uuids["daily-digest"] != lost
    again = engine.reconcile(Declarations().desired(), platform.session(), verify=True)
    assert again.status is ReconcileStatus.UP_TO_DATE


def test_an_edit_made_on_dailybot_is_put_back_by_a_verifying_reconcile(
    platform: Platform,
) -> None:
    engine = reconciler(platform)
    first = engine.reconcile(Declarations().desired(), platform.session())
    uuid = first.uuids["daily-digest"]
    platform.client.update_schedule(
        uuid, {"cron": "0 12 * * *"}, exchange_token=platform.tokens().token()
    )

    result = engine.reconcile(Declarations().desired(), platform.session(), verify=True)

    assert [step.outcome for step in result.plan.schedules] == [Outcome.UPDATED]
    assert platform.schedules_named("daily-digest")[0]["cron"] == "0 9 * * 1-5"
    assert result.uuids["daily-digest"] == uuid


def test_an_update_answered_404_creates_the_schedule_again(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    platform.client.delete_schedule(
        first.uuids["daily-digest"], exchange_token=platform.tokens().token()
    )
    declared.schedules = [ScheduleDeclaration(name="daily-digest", cron="0 8 * * 1-5")]

    result = engine.reconcile(declared.desired(), platform.session())

    (row,) = platform.schedules_named("daily-digest")
    assert row["cron"] == "0 8 * * 1-5"
    assert row["uuid"] == result.uuids["daily-digest"] != first.uuids["daily-digest"]
    assert engine.read_state(platform.session()).schedules["daily-digest"].uuid == row["uuid"]


def test_schedules_created_at_run_time_are_never_touched(platform: Platform) -> None:
    token = platform.tokens().token()
    reminder = platform.client.create_schedule(
        ScheduleSpec(name="standup-reminder", cron="0 10 * * *", is_owned_by_user=True),
        exchange_token=token,
    )
    declared = Declarations()
    engine = reconciler(platform)
    engine.reconcile(declared.desired(), platform.session())
    declared.schedules, declared.events = [], []

    result = engine.reconcile(declared.desired(), platform.session(), verify=True)

    assert [step.name for step in result.plan.schedules] == ["daily-digest"]
    assert platform.client.get_schedule(reminder, exchange_token=token).name == "standup-reminder"


def test_an_interrupted_reconcile_keeps_what_it_created(platform: Platform) -> None:
    engine = reconciler(platform)
    with platform.control() as control:
        control.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/event-subscription/", "status": 500, "times": 10},
        ).raise_for_status()
        with pytest.raises(ServerError):
            engine.reconcile(Declarations().desired(), platform.session())
        control.delete("/_emulator/faults").raise_for_status()

    interrupted = engine.read_state(platform.session())
    result = engine.reconcile(Declarations().desired(), platform.session())

    assert interrupted.desired_fingerprint is None  # not settled: the next run plans again
    assert [step.outcome for step in result.plan.schedules] == [Outcome.UNCHANGED]
    assert result.plan.hook is not None
    assert result.plan.hook.outcome is Outcome.CREATED
    assert len(platform.schedules_named("daily-digest")) == 1
    assert len(platform.hooks()) == 1


def test_two_concurrent_reconciles_leave_one_schedule(
    platform: Platform, lock_store_path: Path
) -> None:
    # Each "container" has its own client and lock layer; they share the store and the platform.
    # Slow creates keep the winner inside the lock while the other one arrives.
    start = threading.Barrier(2)
    results = []
    errors: list[BaseException] = []

    def container() -> None:
        transport = CountingTransport(delays={"POST /v1/platform/scheduling/": 0.5})
        with counted_client(platform.api_url, transport) as client:
            engine = Reconciler(namespace=NAMESPACE, lock=new_lock(lock_store_path))
            session = Platform(platform.emulator, client, transport).session()
            start.wait()
            try:
                results.append(engine.reconcile(Declarations().desired(), session))
            except BaseException as exc:  # reported below, in the test thread
                errors.append(exc)

    threads = [threading.Thread(target=container) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(r.status for r in results) == sorted(
        [ReconcileStatus.APPLIED, ReconcileStatus.BUSY]
    )
    assert len(platform.schedules_named("daily-digest")) == 1
    assert len(platform.hooks()) == 1


def test_the_lock_holder_rereads_the_state_before_writing(
    platform: Platform, lock_store_path: Path
) -> None:
    # Both read an empty state; the first finishes before the second takes the lock.
    first, second = reconciler(platform, lock_store_path), reconciler(platform, lock_store_path)
    desired = Declarations().desired()
    stale_state = second.read_state(platform.session())
    first.reconcile(desired, platform.session())

    class StaleOnce(Reconciler):
        reads = 0

        def read_state(self, session):  # type: ignore[no-untyped-def]
            StaleOnce.reads += 1
            return stale_state if StaleOnce.reads == 1 else super().read_state(session)

    late = StaleOnce(namespace=NAMESPACE, lock=new_lock(lock_store_path))
    result = late.reconcile(desired, platform.session())

    assert result.status is ReconcileStatus.UP_TO_DATE
    assert len(platform.schedules_named("daily-digest")) == 1


def test_a_change_of_ownership_recreates_the_schedule(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    declared.schedules = [
        ScheduleDeclaration(name="daily-digest", cron="0 9 * * 1-5", is_owned_by_user=True)
    ]

    result = engine.reconcile(declared.desired(), platform.session())

    (row,) = platform.schedules_named("daily-digest")
    assert row["is_owned_by_user"] == 1
    assert row["uuid"] == result.uuids["daily-digest"] != first.uuids["daily-digest"]


def test_deleting_a_schedule_that_is_already_gone_is_fine(platform: Platform) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    first = engine.reconcile(declared.desired(), platform.session())
    platform.client.delete_schedule(
        first.uuids["daily-digest"], exchange_token=platform.tokens().token()
    )
    declared.schedules = []

    result = engine.reconcile(declared.desired(), platform.session())

    assert result.status is ReconcileStatus.APPLIED
    assert engine.read_state(platform.session()).schedules == {}


class UnreleasableLock:
    def acquire(self, name: str) -> bool:
        return True

    def release(self, name: str) -> None:
        raise ReconcileLockUnavailable("store gone")


def test_a_lock_that_cannot_be_released_does_not_undo_the_work(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = Reconciler(namespace=NAMESPACE, lock=UnreleasableLock())

    result = engine.reconcile(Declarations().desired(), platform.session())

    assert result.status is ReconcileStatus.APPLIED
    assert "could not release the reconcile lock" in capsys.readouterr().out
    assert NAMESPACE in repr(engine)


def test_two_processes_sharing_the_sqlite_store_leave_one_schedule(
    platform: Platform, lock_store_path: Path
) -> None:
    # Real processes, as two containers would be: nothing shared but the store file.
    start_at = time.time() + 5.0
    command = [
        sys.executable,
        "-m",
        "tests.runtime.registration.reconcile_process",
        platform.api_url,
        str(lock_store_path),
        str(start_at),
    ]
    environment = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [p.returncode for p in processes] == [0, 0], [err.decode() for _, err in outputs]
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    statuses = sorted(r["status"] for r in results)
    # The loser is normally BUSY; a process that started late finds the work done instead.
    assert statuses in (
        sorted([str(ReconcileStatus.APPLIED), str(ReconcileStatus.BUSY)]),
        sorted([str(ReconcileStatus.APPLIED), str(ReconcileStatus.UP_TO_DATE)]),
    )
    (row,) = platform.schedules_named("daily-digest")
    (winner,) = [r for r in results if r["status"] == str(ReconcileStatus.APPLIED)]
    assert row["uuid"] == winner["uuids"]["daily-digest"]
    assert len(platform.hooks()) == 1
    # And the loser's next look finds the work done: one read, no write.
    platform.transport.clear()
    again = reconciler(platform, lock_store_path).reconcile(
        Declarations().desired(), platform.session()
    )
    assert again.status is ReconcileStatus.UP_TO_DATE
    assert platform.transport.writes() == []


def test_the_updated_schedule_fires_at_the_new_time_on_the_virtual_clock(
    platform: Platform,
) -> None:
    declared = Declarations()
    engine = reconciler(platform)
    engine.reconcile(declared.desired(), platform.session())
    declared.schedules = [ScheduleDeclaration(name="daily-digest", cron="30 10 * * 1-5")]
    engine.reconcile(declared.desired(), platform.session())

    with platform.control() as control:
        now = datetime.fromisoformat(control.get("/_emulator/clock").json()["now"])
        target = _next_weekday_at(now.astimezone(BOGOTA), hour=10, minute=30)
        advanced = control.post(
            "/_emulator/clock/advance", json={"seconds": (target - now).total_seconds()}
        ).json()
        deliveries = control.get("/_emulator/deliveries").json()

    # The 09:00 run of the same day is gone with the old cron: one run, at 10:30.
    assert advanced["fired"] == 1
    # Nothing listens at the callback URL, so each run is attempted more than once.
    runs = [d for d in deliveries if d["kind"] == "scheduled_execution"]
    (run,) = [d for d in runs if d["attempt"] == 1]
    assert {d["url"] for d in runs} == {PUBLIC_URL}
    fired_at = datetime.fromisoformat(run["at"]).astimezone(BOGOTA)
    assert (fired_at.weekday() < 5, fired_at.hour, fired_at.minute) == (True, 10, 30)


def _next_weekday_at(now: datetime, *, hour: int, minute: int) -> datetime:
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    while candidate.weekday() >= 5:
        candidate += timedelta(days=1)
    return candidate
