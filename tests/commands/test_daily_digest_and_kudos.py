"""The declared schedule (`daily-digest`) and the event hook (`kudos.posted`)."""

from __future__ import annotations

from testkit import Dailybot


def test_the_declared_schedule_is_on_the_platform_before_any_invocation(
    dailybot: Dailybot,
) -> None:
    [digest] = [s for s in dailybot.schedules if s.name == "daily-digest"]

    assert digest.cron == "0 9 * * 1-5"
    assert digest.timezone_type == "organization_timezone"
    assert digest.is_active


def test_a_digest_reports_the_last_day_without_earlier_digests(dailybot: Dailybot) -> None:
    [digest] = [s for s in dailybot.schedules if s.name == "daily-digest"]
    assert digest.next_fire_at is not None
    dailybot.advance(seconds=(digest.next_fire_at - dailybot.now).total_seconds() - 60)
    dailybot.invoke("remember color blue")
    dailybot.invoke("recall color")

    [first] = dailybot.advance(minutes=2)
    later = dailybot.advance(days=7)

    assert first.message == (
        "*Daily digest*: 2 activity records in the last 24 hours (usage/triggered x2)."
    )
    assert [r.message for r in later] == ["*Daily digest*: no activity in the last 24 hours."] * 5


def test_each_kudos_counts_and_is_recorded(dailybot: Dailybot) -> None:
    assert dailybot.fire_event("kudos.posted", {"kudos": {"message": "thanks"}}) == 1
    dailybot.fire_event("KUDOS_POSTED", {"kudos": {"message": "again"}})

    assert dailybot.storage["kudos_count"] == 2
    assert [(r.category, r.action) for r in dailybot.activity] == [
        ("event", "kudos.posted"),
        ("event", "kudos.posted"),
    ]


def test_events_of_another_organization_reach_no_hook(dailybot: Dailybot) -> None:
    kim = dailybot.users[2]

    assert dailybot.fire_event("kudos.posted", {}, organization=kim.organization_uuid) == 0
    assert "kudos_count" not in dailybot.storage
