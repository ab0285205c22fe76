"""What travels on the queue for one deferred job, and the job's identity.

The identity derives from the identity of the delivery (or job) that deferred it, the job's
name and its canonical arguments: the same run deferring the same job twice, or a re-run of
a crashed delivery deferring it again, gives the same identity, which the runner runs once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from chalicelib.canonical import canonical_hash, canonical_json
from chalicelib.dailybot.models import JSONValue

MAX_MESSAGE_BYTES: Final = 256 * 1024
"""SQS's limit on a message body (the SQLite queue keeps the same one)."""


class InvalidJobMessage(ValueError):
    """A queue body that is not a job message this runtime wrote."""


@dataclass(frozen=True)
class Origin:
    """The delivery a job comes from: who asked, what they typed, where to answer."""

    kind: str
    subject: str
    organization_uuid: str
    user_uuid: str | None = None
    user_full_name: str | None = None
    intent: str | None = None
    text: str = ""
    target_channel: str | None = None
    sent_at: float = 0.0


@dataclass(frozen=True)
class JobMessage:
    """One deferred job. `replay` counts replays from the dead-letter queue: a replayed job
    runs again even though its identity already ran (and failed)."""

    identity: str
    job: str
    arguments: Mapping[str, JSONValue]
    origin: Origin
    replay: int = 0

    @property
    def run_key(self) -> str:
        """What the runner de-duplicates on: the identity, and the replay when there is one."""
        return self.identity if self.replay == 0 else f"{self.identity}:replay:{self.replay}"

    def encode(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def decode(cls, body: str | bytes) -> JobMessage:
        try:
            data = json.loads(body)
            origin = Origin(**data.pop("origin"))
            message = cls(origin=origin, **data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidJobMessage(f"not a job message: {type(exc).__name__}") from None
        if not isinstance(message.identity, str) or not isinstance(message.arguments, dict):
            raise InvalidJobMessage("not a job message: bad identity or arguments")
        return message

    def replayed(self) -> JobMessage:
        return JobMessage(self.identity, self.job, self.arguments, self.origin, self.replay + 1)


def job_identity(parent_identity: str, job: str, arguments: Mapping[str, Any]) -> str:
    """The identity of job `job` with `arguments`, deferred by the run of `parent_identity`."""
    return canonical_hash({"parent": parent_identity, "job": job, "arguments": arguments})
