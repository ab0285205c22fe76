"""A schedule at an hour that does not exist."""

from __future__ import annotations

from chalicelib.runtime import Context, scheduled


@scheduled("nightly", cron="0 25 * * *")
def nightly_report(ctx: Context) -> str:
    return "report"
