"""The shipped `daily-digest` schedule: its declaration, and its handler against the emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from chalicelib.commands import load_commands
from chalicelib.commands.daily_digest import NAME, daily_digest, digest_message, news
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.models import ActivityEntry, ActivityRecord
from chalicelib.runtime.context import Context
from chalicelib.runtime.intake.delivery import Delivery, DeliveryKind, ScheduledRun
from chalicelib.runtime.registry import registry
from emulator.schedules import check_cron
from tests.runtime.registration.conftest import ACME, JANE, Platform


def scheduled_run(platform: Platform, sent_at: float) -> Context:
    delivery = Delivery(
        kind=DeliveryKind.SCHEDULED,
        identity="digest-run",
        sent_at=sent_at,
        organization_uuid=ACME,
        user_uuid=JANE,
        scheduled=ScheduledRun(uuid=None, name="daily-digest", payload={}),
    )
    return Context(delivery, platform.session(deadline=Deadline.after(10)))


def test_the_app_declares_the_weekday_morning_schedule() -> None:
    load_commands()

    (declared,) = [d for d in registry.declared_schedules() if d.name == NAME]
    assert (declared.cron, declared.timezone_type) == (
        "0 9 * * 1-5",
        "organization_timezone",
    )
    assert not declared.is_owned_by_user
    assert registry.scheduled_handler("daily-digest") is daily_digest
    assert "kudos.posted" in [d.event for d in registry.declared_events()]


def test_a_run_records_that_it_fired_and_summarises_the_last_day(platform: Platform) -> None:
    token = platform.tokens().token()
    for _ in range(2):
        platform.client.create_activity(
            ActivityEntry("usage", "triggered", label="remember"), exchange_token=token
        )
    platform.client.create_activity(ActivityEntry("event", "kudos.posted"), exchange_token=token)

    first = daily_digest(scheduled_run(platform, time.time() + 60))
    second = daily_digest(scheduled_run(platform, time.time() + 60))

    expected = (
        "*Daily digest*: 3 activity records in the last 24 hours"
        " (usage/triggered x2, event/kudos.posted x1)."
    )
    # The digest's own "fired" records are not news for the next digest.
    assert first == second == expected
    fired = [
        r
        for r in platform.client.list_activity(exchange_token=token)
        if (r.category, r.action, r.label) == ("schedule", "fired", "daily-digest")
    ]
    assert len(fired) == 2
    assert fired[0].metadata == {"records": 3}


def test_the_digest_of_a_quiet_day() -> None:
    assert digest_message([]) == "*Daily digest*: no activity in the last 24 hours."


def test_news_is_the_last_day_without_earlier_digests() -> None:
    fired_at = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)

    def record(
        created_at: str, category: str = "usage", label: str | None = None
    ) -> ActivityRecord:
        return ActivityRecord(None, None, None, category, "triggered", label, {}, created_at)

    fresh = record("2026-03-02T09:00:00Z")
    naive = record("2026-03-01T15:00:00")  # no zone: UTC
    kept = [fresh, naive]
    dropped = [
        record("2026-03-01T13:59:59Z"),
        record("yesterday"),
        record("2026-03-02T13:00:00Z", category="schedule", label="daily-digest"),
    ]

    assert news([*kept, *dropped], fired_at) == kept
    assert digest_message([fresh]) == (
        "*Daily digest*: 1 activity record in the last 24 hours (usage/triggered x1)."
    )


def test_a_run_days_later_finds_a_quiet_day(platform: Platform) -> None:
    platform.client.create_activity(
        ActivityEntry("usage", "triggered"), exchange_token=platform.tokens().token()
    )

    reply = daily_digest(scheduled_run(platform, time.time() + 3 * 86400))

    assert reply == "*Daily digest*: no activity in the last 24 hours."


def test_every_shipped_schedule_is_one_the_platform_accepts() -> None:
    # The runtime carries no cron parser; the emulator's check is the platform's rule.
    load_commands()

    for declaration in registry.declared_schedules():
        assert (declaration.cron is None) != (declaration.execution_frequency is None)
        if declaration.cron is not None:
            assert check_cron(declaration.cron) == declaration.cron
