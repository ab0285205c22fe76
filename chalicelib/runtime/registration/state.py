"""What self-registration remembers having registered on the platform, kept in platform storage.

The Commands Platform has no endpoint that lists a command's scheduled executions or hooks, so
the runtime records what it created itself: one storage key in its own namespace holding, per
declared schedule, the platform uuid, the fingerprint of what was sent and the fields sent (so
a change can be a PUT of just the changed fields), the event hook, and the fingerprint of the
whole declaration set, which lets a cold start decide "nothing changed" from one read.
Schedules the runtime did not create (per-user ones made by handlers) are never in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from chalicelib.dailybot.models import JSONValue

STATE_VERSION: Final = 1


class StoredStateError(ValueError):
    """The stored registration state cannot be read safely (corrupt, or from a newer runtime)."""


@dataclass(frozen=True)
class RegisteredSchedule:
    """A scheduled execution this runtime created: its uuid and what it was last set to."""

    uuid: str
    fingerprint: str
    fields: Mapping[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisteredHook:
    """The command's event hook as this runtime last registered it."""

    uuid: str
    events: tuple[str, ...]
    subscribed_objects: tuple[str, ...]
    fingerprint: str


@dataclass(frozen=True)
class RegistrationState:
    """Everything registered by this runtime; empty before the first reconcile."""

    schedules: Mapping[str, RegisteredSchedule] = field(default_factory=dict)
    hook: RegisteredHook | None = None
    desired_fingerprint: str | None = None

    def to_json(self) -> dict[str, JSONValue]:
        """The value written to platform storage."""
        return {
            "version": STATE_VERSION,
            "desired_fingerprint": self.desired_fingerprint,
            "schedules": {
                name: {
                    "uuid": entry.uuid,
                    "fingerprint": entry.fingerprint,
                    "fields": dict(entry.fields),
                }
                for name, entry in sorted(self.schedules.items())
            },
            "hook": None
            if self.hook is None
            else {
                "uuid": self.hook.uuid,
                "events": list(self.hook.events),
                "subscribed_objects": list(self.hook.subscribed_objects),
                "fingerprint": self.hook.fingerprint,
            },
        }

    @classmethod
    def from_json(cls, value: JSONValue) -> RegistrationState:
        """The state a stored value describes; nothing stored (None) is the empty state."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise StoredStateError("the stored registration state is not a JSON object")
        version = value.get("version")
        if version != STATE_VERSION:
            # A newer runtime wrote it: rewriting it in an older shape could lose registrations.
            raise StoredStateError(f"the stored registration state has version {version!r}")
        desired = value.get("desired_fingerprint")
        return cls(
            schedules=_schedules(value.get("schedules")),
            hook=_hook(value.get("hook")),
            desired_fingerprint=desired if isinstance(desired, str) else None,
        )


def _schedules(raw: JSONValue) -> dict[str, RegisteredSchedule]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise StoredStateError("the stored schedules are not a JSON object")
    schedules: dict[str, RegisteredSchedule] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise StoredStateError(f"the stored schedule {name!r} is not a JSON object")
        uuid = _text(entry, "uuid", f"schedule {name!r}")
        fields = entry.get("fields")
        schedules[name] = RegisteredSchedule(
            uuid=uuid,
            fingerprint=_text(entry, "fingerprint", f"schedule {name!r}"),
            fields=dict(fields) if isinstance(fields, dict) else {},
        )
    return schedules


def _hook(raw: JSONValue) -> RegisteredHook | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StoredStateError("the stored event hook is not a JSON object")
    return RegisteredHook(
        uuid=_text(raw, "uuid", "event hook"),
        events=_names(raw.get("events")),
        subscribed_objects=_names(raw.get("subscribed_objects")),
        fingerprint=_text(raw, "fingerprint", "event hook"),
    )


def _text(entry: Mapping[str, JSONValue], name: str, what: str) -> str:
    value = entry.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise StoredStateError(f"the stored {what} has no {name}")
    return value


def _names(raw: JSONValue) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(str(item) for item in raw)
