"""`report`: work that outlives the reply. The command answers at once and defers the
`build-report` job, whose result arrives as a follow-up message where the command was used.
"""

from __future__ import annotations

from chalicelib.runtime import Context, command, job


@job("build-report")
def build_report(ctx: Context, *, period: str) -> str:
    """Builds the report from the command's activity log (a slow job in a real deployment)."""
    records = ctx.activity.recent(limit=50)
    used = sum(1 for record in records if record.category == "usage")
    errors = sum(1 for record in records if record.category == "error")
    return (
        f"*Report for {period}*: {used} command use(s) and {errors} error(s) "
        f"in the last {len(records)} activity record(s)."
    )


@command("report")
def report(ctx: Context) -> str:
    """Builds a report in the background and sends it here when it is ready"""
    ctx.defer(build_report, period=ctx.text or "this week")
    return "Building your report; I'll send it here when it's ready."
