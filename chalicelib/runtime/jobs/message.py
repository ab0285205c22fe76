"""What travels on the queue for one deferred job, and the job's identity.

A message carries the delivery that deferred the job (the same `Delivery` value the intake
parsed, without its exchange token), so the job's context knows everything its delivery did.
Every field is checked when a message is read: a queue is input like any other, and a message
that cannot be read is dead-lettered with the reason, never run and never a crash.

The identity derives from the identity of the run that deferred it (a delivery's or a job's),
the job's name and its canonical arguments: the same run deferring the same job twice, or a
re-run of a crashed delivery deferring it again, gives the same identity, which runs once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from chalicelib.canonical import canonical_hash, canonical_json
from chalicelib.dailybot.models import JSONValue
from chalicelib.runtime.intake.delivery import CORRELATION_ID_LENGTH, Delivery, DeliveryRefused

MAX_MESSAGE_BYTES: Final = 256 * 1024
"""SQS's limit on a message body (the SQLite queue keeps the same one)."""
MAX_JOB_NAME: Final = 200
_FIELDS: Final = frozenset({"identity", "job", "arguments", "delivery", "chain", "replay"})


class InvalidJobMessage(ValueError):
    """A queue body that is not a job message this runtime can run; the message says why."""


@dataclass(frozen=True)
class JobMessage:
    """One deferred job.

    `chain` counts how deep the job is: 1 when a delivery deferred it, one more for each job
    in between. `replay` counts replays from the dead-letter queue: a replayed job runs again
    even though its identity already ran (and failed).
    """

    identity: str
    job: str
    arguments: Mapping[str, JSONValue]
    delivery: Delivery
    chain: int = 1
    replay: int = 0

    @property
    def run_key(self) -> str:
        """What the runner de-duplicates on: the identity, and the replay when there is one."""
        return self.identity if self.replay == 0 else f"{self.identity}:replay:{self.replay}"

    @property
    def job_id(self) -> str:
        """The short id of the job in log lines and the platform calls it makes."""
        return self.identity[:CORRELATION_ID_LENGTH]

    def encode(self) -> str:
        return canonical_json(
            {
                "identity": self.identity,
                "job": self.job,
                "arguments": dict(self.arguments),
                "delivery": self.delivery.to_json(),
                "chain": self.chain,
                "replay": self.replay,
            }
        )

    @classmethod
    def decode(cls, body: str | bytes) -> JobMessage:
        """The message in `body`, or `InvalidJobMessage` saying what is wrong with it."""
        data = _json_object(body)
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise InvalidJobMessage(f"unknown field {unknown[0]!r}")
        try:
            delivery = Delivery.from_json(data.get("delivery"))
        except DeliveryRefused as refused:
            raise InvalidJobMessage(refused.message) from None
        return cls(
            identity=_identity(data.get("identity")),
            job=_job_name(data.get("job")),
            arguments=_arguments(data.get("arguments")),
            delivery=delivery,
            chain=_count(data, "chain", least=1),
            replay=_count(data, "replay", least=0),
        )

    def replayed(self) -> JobMessage:
        return replace(self, replay=self.replay + 1)


def decode_or_none(body: str) -> JobMessage | None:
    """The message in `body`, or None when it cannot be read (listing dead jobs)."""
    try:
        return JobMessage.decode(body)
    except InvalidJobMessage:
        return None


def job_identity(parent_identity: str, job: str, arguments: Mapping[str, Any]) -> str:
    """The identity of job `job` with `arguments`, deferred by the run of `parent_identity`."""
    return canonical_hash({"parent": parent_identity, "job": job, "arguments": arguments})


def _json_object(body: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError:  # thousands of nested arrays fit in a message
        raise InvalidJobMessage("the message is nested too deeply") from None
    except (ValueError, TypeError):
        raise InvalidJobMessage("the message is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidJobMessage("the message is not a JSON object")
    return data


def _identity(value: object) -> str:
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise InvalidJobMessage("'identity' must be a SHA-256 hex digest")
    return value


def _job_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_JOB_NAME:
        raise InvalidJobMessage(f"'job' must be a name of 1 to {MAX_JOB_NAME} characters")
    return value


def _arguments(value: object) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        raise InvalidJobMessage("'arguments' must be a JSON object")
    return value


def _count(data: Mapping[str, Any], name: str, *, least: int) -> int:
    value = data.get(name, least)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidJobMessage(f"{name!r} must be a whole number from {least}")
    return value
