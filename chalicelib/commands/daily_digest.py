"""`daily-digest`: a schedule the deployment declares, fired on weekdays at 09:00.

Self-registration creates it on Dailybot (organization time zone); each run records that it
fired in the activity log and replies with a one-line summary of the last day's activity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from chalicelib.runtime import ActivityRecord, Context, scheduled

NAME: Final = "daily-digest"
WINDOW: Final = timedelta(days=1)
SHOWN_ACTIONS: Final = 3


@scheduled(NAME, cron="0 9 * * 1-5", timezone_type="organization_timezone")
def daily_digest(ctx: Context) -> str:
    """Summarises the last day of the command's activity, on weekdays at 09:00"""
    reported = news(ctx.activity.recent(), ctx.sent_at)
    ctx.activity.record("schedule", "fired", label=NAME, metadata={"records": len(reported)})
    return digest_message(reported)


def news(records: Iterable[ActivityRecord], fired_at: datetime) -> list[ActivityRecord]:
    """The records a digest fired at `fired_at` reports: the last day's, minus earlier digests."""
    return [r for r in records if _within_day(r, fired_at) and not _is_digest(r)]


def digest_message(records: Iterable[ActivityRecord]) -> str:
    """`*Daily digest*` and the most frequent actions of `records`."""
    actions = Counter(f"{r.category}/{r.action}" for r in records)
    if not actions:
        return "*Daily digest*: no activity in the last 24 hours."
    total = sum(actions.values())
    top = ", ".join(f"{name} x{count}" for name, count in actions.most_common(SHOWN_ACTIONS))
    noun = "record" if total == 1 else "records"
    return f"*Daily digest*: {total} activity {noun} in the last 24 hours ({top})."


def _within_day(record: ActivityRecord, fired_at: datetime) -> bool:
    try:
        created = datetime.fromisoformat(record.created_at)
    except ValueError:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created >= fired_at - WINDOW


def _is_digest(record: ActivityRecord) -> bool:
    return record.category == "schedule" and record.label == NAME
