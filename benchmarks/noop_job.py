"""The benchmark's command and its job that does nothing but answer
(`DAILYBOT_EXTRA_COMMANDS=benchmarks.noop_job`)."""

from __future__ import annotations

from chalicelib.runtime import Context, command, job


@job("bench-noop")
def noop(ctx: Context, *, tag: str) -> str:
    return f"done {tag}"


@command("bench-noop")
def bench_noop(ctx: Context) -> str:
    """Defers a job that does nothing"""
    ctx.defer(noop, tag=ctx.text)
    return "queued"
