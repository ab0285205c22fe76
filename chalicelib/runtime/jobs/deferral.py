"""`ctx.defer`: the checks made at the call, and the jobs one run collects.

Everything wrong with a deferral (a function that is not a registered job, a lambda, an
argument JSON cannot carry exactly, a message over the queue's size limit) raises
`InvalidDeferral` in the handler, before anything is queued. The collected jobs are queued
by the intake only once the run has finished successfully.
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.jobs.message import MAX_MESSAGE_BYTES, JobMessage, Origin, job_identity
from chalicelib.runtime.registry import CommandRegistry


class InvalidDeferral(ValueError):
    """`ctx.defer` was given something that cannot be queued; the message says what."""


def origin_of(delivery: Delivery) -> Origin:
    """What a job keeps of the delivery that deferred it."""
    return Origin(
        kind=str(delivery.kind),
        subject=delivery.subject,
        organization_uuid=delivery.organization_uuid,
        user_uuid=delivery.user_uuid,
        user_full_name=delivery.user_full_name,
        intent=delivery.intent,
        text=delivery.text,
        target_channel=delivery.target_channel,
        sent_at=delivery.sent_at,
    )


class JobCollector:
    """The jobs deferred by one run (of a delivery or of a job), checked as they come."""

    def __init__(self, registry: CommandRegistry, parent_identity: str, origin: Origin) -> None:
        self._registry = registry
        self._parent = parent_identity
        self._origin = origin
        self._messages: dict[str, JobMessage] = {}

    def defer(self, function: object, arguments: dict[str, Any]) -> str:
        """Checks and collects one job; answers its identity."""
        name = self._registry.name_of_job(function)
        if name is None:
            what = getattr(function, "__qualname__", type(function).__name__)
            raise InvalidDeferral(
                f"{what} is not a registered job: decorate a module-level function with @job(name)"
            )
        _check_json(name, arguments)
        identity = job_identity(self._parent, name, arguments)
        message = JobMessage(identity, name, dict(arguments), self._origin)
        size = len(message.encode().encode("utf-8", "surrogatepass"))
        if size > MAX_MESSAGE_BYTES:
            raise InvalidDeferral(
                f"job {name!r}: its arguments make a {size}-byte message; "
                f"the queue takes at most {MAX_MESSAGE_BYTES} bytes (store large data, pass a key)"
            )
        self._messages.setdefault(identity, message)
        return identity

    def collected(self) -> list[JobMessage]:
        """The jobs deferred so far, in order, each once."""
        return list(self._messages.values())


def _check_json(name: str, arguments: dict[str, Any]) -> None:
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
