"""`ctx.defer`: the checks made at the call, and the jobs one run collects.

Everything wrong with a deferral (a function that is not a registered job, a lambda, an
argument JSON cannot carry exactly, a message over the queue's size limit, a chain of jobs
deferring jobs past `JOBS_MAX_CHAIN`, more than `JOBS_MAX_FANOUT` jobs from one run) raises
`InvalidDeferral` in the handler, before anything is queued. The collected jobs are queued
only once the run has finished successfully.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.jobs.message import MAX_MESSAGE_BYTES, JobMessage, job_identity


class JobNames(Protocol):
    """Where a job function's registered name is found (the registry)."""

    def name_of_job(self, function: object) -> str | None: ...


@dataclass(frozen=True)
class DeferralLimits:
    """How deep a chain of jobs may go, and how many jobs one run may defer."""

    max_chain: int = 10
    max_fanout: int = 100


@dataclass(frozen=True)
class Deferring:
    """Who defers: the run's own identity, its delivery, and how deep it is (0 for a
    delivery, the job's `chain` for a job) and which job it is, if any."""

    parent_identity: str
    delivery: Delivery
    depth: int = 0
    parent_job: str | None = None


class JobCollector:
    """The jobs deferred by one run (of a delivery or of a job), checked as they come."""

    def __init__(self, names: JobNames, deferring: Deferring, limits: DeferralLimits) -> None:
        self._names = names
        self._deferring = deferring
        self._delivery = deferring.delivery.without_token()
        self._limits = limits
        self._messages: dict[str, JobMessage] = {}

    def defer(self, job: Callable[..., object], arguments: Mapping[str, Any]) -> str:
        """Checks and collects one job; answers its identity."""
        name = self._names.name_of_job(job)
        if name is None:
            what = getattr(job, "__qualname__", type(job).__name__)
            raise InvalidDeferral(
                f"{what} is not a registered job: decorate a module-level function with @job(name)"
            )
        _check_json(name, arguments)
        identity = job_identity(self._deferring.parent_identity, name, arguments)
        if identity in self._messages:
            return identity
        self._check_limits(name)
        message = JobMessage(
            identity, name, dict(arguments), self._delivery, self._deferring.depth + 1
        )
        size = len(message.encode().encode("utf-8", "surrogatepass"))
        if size > MAX_MESSAGE_BYTES:
            raise InvalidDeferral(
                f"job {name!r}: its arguments make a {size}-byte message; "
                f"the queue takes at most {MAX_MESSAGE_BYTES} bytes (store large data, pass a key)"
            )
        self._messages[identity] = message
        return identity

    def collected(self) -> list[JobMessage]:
        """The jobs deferred so far, in order, each once."""
        return list(self._messages.values())

    def _check_limits(self, name: str) -> None:
        deferring, limits = self._deferring, self._limits
        if deferring.depth + 1 > limits.max_chain:
            raise InvalidDeferral(
                f"job {name!r} would be job {deferring.depth + 1} of a chain of jobs deferring "
                f"jobs (deferred by job {deferring.parent_job!r}); JOBS_MAX_CHAIN allows "
                f"{limits.max_chain}: a job that defers itself must stop"
            )
        if len(self._messages) >= limits.max_fanout:
            raise InvalidDeferral(
                f"job {name!r}: this run already deferred {len(self._messages)} jobs; "
                f"JOBS_MAX_FANOUT allows {limits.max_fanout} per run"
            )


def _check_json(name: str, arguments: Mapping[str, Any]) -> None:
    for key, value in arguments.items():
        problem = _json_problem(value)
        if problem is not None:
            raise InvalidDeferral(f"job {name!r}: argument {key!r} {problem}")


def _json_problem(value: Any) -> str | None:
    """Why JSON cannot carry `value` exactly (a tuple would come back a list), or None."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(value, list):
        return next((p for p in map(_json_problem, value) if p is not None), None)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "has an object key that is not text"
        return next((p for p in map(_json_problem, value.values()) if p is not None), None)
    return f"is a {type(value).__name__}, which JSON cannot carry (use str, number, list, dict)"
