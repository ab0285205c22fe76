"""Jobs and commands that exercise deferred work: sleep, fail N times, always fail, defer more.

`register(registry)` puts them on a registry; `tests/e2e/job_drills.py` puts them on the
app's (through `DAILYBOT_EXTRA_COMMANDS`) for `chalice local` and the worker.
The attempt counter of `flaky` lives in a file, so it counts across processes.
"""

from __future__ import annotations

import time
from pathlib import Path

from chalicelib.runtime import Context, Reply
from chalicelib.runtime.registry import CommandRegistry


class DrillFailure(RuntimeError):
    """What the failing drills raise."""


def nap(ctx: Context, *, seconds: float) -> str:
    time.sleep(seconds)
    return f"Slept {seconds:g} s for {ctx.user.full_name} ({ctx.text})."


def flaky(ctx: Context, *, counter: str, failures: int) -> Reply:
    path = Path(counter)
    attempt = int(path.read_text() or "0") + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= failures:
        raise DrillFailure(f"attempt {attempt} fails")
    return Reply(f"Done after {attempt} attempts ({ctx.text}).")


def broken(ctx: Context, *, note: str) -> str:
    raise DrillFailure(note)


def chain(ctx: Context, *, depth: int) -> str | None:
    if depth > 0:
        ctx.defer(chain, depth=depth - 1)
    return f"Chain at depth {depth}."


def silent(ctx: Context) -> None:
    return None


def drill_command(ctx: Context) -> str:
    """Defers the drill job the first word names: nap S | flaky PATH N | broken | chain N
    (further words only tag the follow-up, which repeats the text)"""
    name, *rest = ctx.words or ("silent",)
    if name == "nap":
        ctx.defer(nap, seconds=float(rest[0]))
    elif name == "flaky":
        ctx.defer(flaky, counter=rest[0], failures=int(rest[1]))
    elif name == "broken":
        ctx.defer(broken, note="always")
    elif name == "chain":
        ctx.defer(chain, depth=int(rest[0]))
    else:
        ctx.defer(silent)
    return f"Queued {name}."


def register(registry: CommandRegistry) -> CommandRegistry:
    registry.command("drill")(drill_command)
    for name, function in {
        "drill-nap": nap,
        "drill-flaky": flaky,
        "drill-broken": broken,
        "drill-chain": chain,
        "drill-silent": silent,
    }.items():
        registry.job(name)(function)
    return registry
