"""What the harness and the soak's job commands (`soak.job_commands`) agree on: the intents,
the job's follow-up text and the log line a started job writes.

Kept apart from the commands so the harness never imports them: importing them registers
commands on the app's registry, which only the apps and the worker should carry.
"""

from __future__ import annotations

from typing import Final

JOB_INTENT: Final = "soakjob"
MAX_FAILING: Final = 10
FAILING_INTENTS: Final = tuple(f"soakfail{n}" for n in range(MAX_FAILING))
STARTED: Final = "soak job started"


def follow_up_text(key: str) -> str:
    return f"Job {key} done."


def failure_marker(intent: str) -> str:
    """The part of the runtime's failure message that names one failing job's intent."""
    return f"*{intent}*"
