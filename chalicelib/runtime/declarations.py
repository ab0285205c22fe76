"""What a deployment declares it needs from the platform: scheduled executions and event hooks.

Handlers declare these through `scheduled(...)` and `event(...)`; self-registration compares
them with what the platform holds (by `fingerprint()`) and creates or updates the difference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Final

from chalicelib.canonical import canonical_hash
from chalicelib.dailybot.events import normalise_event_name
from chalicelib.dailybot.models import JSONValue, ScheduleSpec

TIMEZONE_TYPES: Final = ("organization_timezone", "user_timezone")
# Five fields of numbers, names (JAN, MON), `*`, ranges, lists and steps; the platform parses it.
_CRON_FIELD: Final = r"[0-9A-Za-z*?/,\-]+"
_CRON: Final = re.compile(rf"{_CRON_FIELD}(\s+{_CRON_FIELD}){{4}}")


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class ScheduleDeclaration:
    """A scheduled execution the deployment wants to exist, named after its handler."""

    name: str
    cron: str | None = None
    execution_frequency: int | None = None
    timezone_type: str = "organization_timezone"
    repeats: int = -1
    payload: Mapping[str, JSONValue] = field(default_factory=dict)
    is_owned_by_user: bool = False

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a schedule declaration needs a name")
        problem = self._problem()
        if problem:
            raise ValueError(f"schedule {self.name!r}: {problem}")
        try:
            self.fingerprint()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"schedule {self.name!r}: payload must be plain JSON ({exc})") from exc

    def _problem(self) -> str | None:
        if (self.cron is None) == (self.execution_frequency is None):
            return "needs either a cron or an execution_frequency, not both"
        if self.cron is not None and not _CRON.fullmatch(self.cron.strip()):
            return f"{self.cron!r} is not a five-field cron expression"
        if self.execution_frequency is not None and not _positive(self.execution_frequency):
            return "execution_frequency must be minutes above 0"
        if not (self.repeats == -1 or _positive(self.repeats)):
            return "repeats must be -1 (forever) or above 0"
        if self.timezone_type not in TIMEZONE_TYPES:
            return f"timezone_type must be one of {', '.join(TIMEZONE_TYPES)}"
        return None

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def fields(self) -> dict[str, JSONValue]:
        """Every declared field by name."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["payload"] = dict(self.payload)
        return values

    def fingerprint(self) -> str:
        """The canonical hash of every field: equal declarations, equal fingerprints."""
        return canonical_hash(self.fields())

    def to_spec(self, callback_url: str | None) -> ScheduleSpec:
        """The platform request that creates this scheduled execution."""
        return ScheduleSpec(**self.fields(), callback_url=callback_url)


@dataclass(frozen=True)
class EventDeclaration:
    """An event the deployment handles, in dotted form, optionally narrowed to some objects."""

    event: str
    subscribed_objects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "event", normalise_event_name(self.event))
        object.__setattr__(self, "subscribed_objects", tuple(self.subscribed_objects))
        if not self.event:
            raise ValueError("an event declaration needs an event name")
