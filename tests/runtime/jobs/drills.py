"""Jobs and commands that exercise deferred work: sleep, fail N times, always fail, defer more.

`register(registry)` puts them on a registry; `tests/e2e/job_drills.py` puts them on the
app's (through `DAILYBOT_EXTRA_COMMANDS`) for `chalice local` and the worker.
The attempt counter of `flaky` lives in a file, so it counts across processes.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from chalicelib.runtime import Context, Reply
from chalicelib.runtime.registry import CommandRegistry

RELEASE = threading.Event()
"""What `block` waits for: a job that never returns until a test sets it."""


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


def block(ctx: Context) -> str:
    RELEASE.wait()
    return "Released."


def again(ctx: Context) -> str:
    """Defers itself: a loop only the chain limit stops."""
    ctx.defer(again)
    return f"Again ({ctx.text})."


def fan(ctx: Context, *, count: int) -> str:
    for n in range(count):
        ctx.defer(silent_numbered, n=n)
    return f"Fanned out {count}."


def silent_numbered(ctx: Context, *, n: int) -> None:
    return None


def describe(ctx: Context) -> str:
    """What the job knows of its delivery, as JSON; it also writes to storage (a token)."""
    ctx.storage.set("described", ctx.kind.value)
    return json.dumps(
        {
            "kind": ctx.kind.value,
            "job": ctx.job,
            "organization": ctx.organization.uuid,
            "user": ctx.user.uuid,
            "text": ctx.text,
            "intent": ctx.intent,
            "command_uuid": ctx.command_uuid,
            "user_context": None if ctx.user_context is None else dict(ctx.user_context),
            "channel": ctx.channel,
            "event": None
            if ctx.event is None
            else {"name": ctx.event.name, "body": dict(ctx.event.body), "hook": ctx.event.hook},
            "scheduled": None
            if ctx.scheduled is None
            else {"name": ctx.scheduled.name, "payload": dict(ctx.scheduled.payload)},
        },
        sort_keys=True,
    )


def stray(ctx: Context) -> None:
    """Never registered as a job: deferring it is an author's mistake."""


def on_kudos(ctx: Context) -> None:
    ctx.defer(describe)


def on_standup(ctx: Context) -> str:
    ctx.defer(describe)
    return "Standup described."


def drill_command(ctx: Context) -> str:
    """Defers the drill job the first word names: nap S | flaky PATH N | broken | chain N |
    block | again | fan N | describe | stray (further words only tag the follow-up)"""
    name, *rest = ctx.words or ("silent",)
    if name == "nap":
        ctx.defer(nap, seconds=float(rest[0]))
    elif name == "flaky":
        ctx.defer(flaky, counter=rest[0], failures=int(rest[1]))
    elif name == "broken":
        ctx.defer(broken, note="always")
    elif name == "chain":
        ctx.defer(chain, depth=int(rest[0]))
    elif name in SIMPLE:
        ctx.defer(SIMPLE[name])
    elif name == "fan":
        ctx.defer(fan, count=int(rest[0]))
    elif name == "stray":
        ctx.defer(stray)
    else:
        ctx.defer(silent)
    return f"Queued {name}."


SIMPLE = {"block": block, "again": again, "describe": describe}


def register(registry: CommandRegistry) -> CommandRegistry:
    registry.command("drill")(drill_command)
    registry.event("organization.team_user_added")(on_kudos)
    registry.scheduled("drill-standup")(on_standup)
    for name, function in {
        "drill-nap": nap,
        "drill-flaky": flaky,
        "drill-broken": broken,
        "drill-chain": chain,
        "drill-silent": silent,
        "drill-block": block,
        "drill-again": again,
        "drill-fan": fan,
        "drill-silent-numbered": silent_numbered,
        "drill-describe": describe,
    }.items():
        registry.job(name)(function)
    return registry
