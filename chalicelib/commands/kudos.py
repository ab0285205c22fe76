"""Counts kudos: every `kudos.posted` event adds one to `kudos_count` in storage."""

from __future__ import annotations

from typing import Final

from chalicelib.runtime import Context, event

COUNT_KEY: Final = "kudos_count"


@event("kudos.posted")
def kudos_posted(ctx: Context) -> None:
    """Counts a posted kudos and records it in the activity log"""
    current = ctx.storage.get(COUNT_KEY)
    count = current if isinstance(current, int) and not isinstance(current, bool) else 0
    ctx.storage.set(COUNT_KEY, count + 1)
    ctx.activity.record("event", "kudos.posted", metadata={"kudos_count": count + 1})
