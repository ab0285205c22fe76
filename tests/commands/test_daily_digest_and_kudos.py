"""The declared schedule (`daily-digest`) and the event hook (`kudos.posted`), checked by what
they do, whatever other commands the deployment has (theirs fire and record activity too)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from chalicelib.commands.daily_digest import NAME
from testkit import Dailybot

TOTAL = re.compile(r"^\*Daily digest\*: (\d+) activity records? in the last 24 hours")


def digests(dailybot: Dailybot, since: int = 0) -> list[tuple[datetime, str]]:
    """When each `daily-digest` run was delivered, and its reply, after the first `since`."""
    return [
        (datetime.fromisoformat(d.at), d.reply.message)
        for d in dailybot.deliveries[since:]
        if d.kind == "scheduled_execution" and d.body["scheduled_execution"]["name"] == NAME
    ]


def test_the_declared_schedule_is_on_the_platform_before_any_invocation(
    dailybot: Dailybot,
) -> None:
    [digest] = [s for s in dailybot.schedules if s.name == NAME]

    assert digest.cron == "0 9 * * 1-5"
    assert digest.timezone_type == "organization_timezone"
    assert digest.is_active


def test_a_digest_reports_the_last_day_without_earlier_digests(dailybot: Dailybot) -> None:
    [digest] = [s for s in dailybot.schedules if s.name == NAME]
    assert digest.next_fire_at is not None
    dailybot.advance(seconds=(digest.next_fire_at - dailybot.now).total_seconds() - 60)
    dailybot.invoke("remember color blue")
    dailybot.invoke("recall color")
    before = len(dailybot.deliveries)

    dailybot.advance(minutes=2)
    [(fired_at, first)] = digests(dailybot, before)
    dailybot.advance(days=7)
    later = digests(dailybot, before)[1:]

    total = TOTAL.match(first)
    assert total is not None, first
    # The two uses of a command an hour before; other commands' records may come beside them.
    assert "usage/triggered x2" in first
    assert int(total.group(1)) >= 2
    assert [when.weekday() < 5 for when, _ in later] == [True] * 5
    assert all(fired_at < when <= fired_at + timedelta(days=7, minutes=2) for when, _ in later)
    # Nobody used a command since: no later digest reports a command's use.
    assert [("usage/" in message) for _, message in later] == [False] * 5


def test_each_kudos_counts_and_is_recorded(dailybot: Dailybot) -> None:
    assert dailybot.fire_event("kudos.posted", {"kudos": {"message": "thanks"}}) == 1
    dailybot.fire_event("KUDOS_POSTED", {"kudos": {"message": "again"}})

    assert dailybot.storage["kudos_count"] == 2
    assert [(r.category, r.action) for r in dailybot.activity if r.category == "event"] == [
        ("event", "kudos.posted"),
        ("event", "kudos.posted"),
    ]


def test_events_of_another_organization_reach_no_hook(dailybot: Dailybot) -> None:
    kim = dailybot.users[2]

    assert dailybot.fire_event("kudos.posted", {}, organization=kim.organization_uuid) == 0
    assert "kudos_count" not in dailybot.storage
