"""The soak's job commands, loaded by the apps and the worker through
`DAILYBOT_EXTRA_COMMANDS=soak.job_commands`.

`soakjob KEY SECONDS` defers `soak-nap`, whose follow-up names KEY. `soakfailN KEY` defers
`soak-broken`, which always fails, so its only message is the runtime's failure message; that
message names the intent, not the text, so each failing job gets an intent of its own
(`soakfail0` to `soakfail9`) and its message stays countable.
"""

from __future__ import annotations

import time

from chalicelib.observability import logger
from chalicelib.runtime import Context
from chalicelib.runtime.registry import registry
from soak.job_texts import FAILING_INTENTS, JOB_INTENT, STARTED, follow_up_text


class SoakJobFailure(RuntimeError):
    """What the failing job raises, on every attempt."""


@registry.job("soak-nap")
def nap(ctx: Context, *, key: str, seconds: float) -> str:
    # The harness waits for this line before it kills the worker mid-job.
    logger.info(STARTED, extra={"soak_key": key})
    time.sleep(seconds)
    return follow_up_text(key)


@registry.job("soak-broken")
def broken(ctx: Context, *, key: str) -> str:
    raise SoakJobFailure(f"{key} always fails")


@registry.command(JOB_INTENT)
def defer_nap(ctx: Context) -> str:
    """soakjob KEY SECONDS: a job that sleeps, then follows up naming KEY"""
    key, seconds = ctx.words[0], float(ctx.words[1])
    ctx.defer(nap, key=key, seconds=seconds)
    return f"Queued {key}."


def defer_broken(ctx: Context) -> str:
    """soakfailN KEY: a job that fails on every attempt"""
    ctx.defer(broken, key=ctx.words[0])
    return f"Queued {ctx.words[0]}."


for _intent in FAILING_INTENTS:
    registry.command(_intent)(defer_broken)
