"""`history`: the last five records of the command's activity log."""

from __future__ import annotations

from typing import Final

from chalicelib.runtime import Context, command

SHOWN: Final = 5


@command("history")
def history(ctx: Context) -> str:
    """Shows the last five activity records"""
    records = ctx.activity.recent(limit=SHOWN)
    if not records:
        return "No activity recorded yet."
    lines = [f"Last {len(records)} activity records:"]
    for record in records:
        label = f" ({record.label})" if record.label else ""
        lines.append(f"- {record.created_at}: {record.category}/{record.action}{label}")
    return "\n".join(lines)
