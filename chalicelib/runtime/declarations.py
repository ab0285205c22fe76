"""What a deployment declares it needs from the platform: scheduled executions and event hooks.

Handlers declare these through the registry; self-registration compares them with what the
platform holds (by `fingerprint()`) and creates or updates the difference.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from chalicelib.dailybot.models import JSONValue, ScheduleSpec

EVENT_NAMES: Final = (
    "followups.response.completed",
    "followups.response.updated",
    "followups.response.deleted",
    "forms.response.created",
    "forms.response.updated",
    "forms.response.deleted",
    "kudos.posted",
    "organization.user_activated",
    "organization.user_deactivated",
    "organization.team_user_added",
    "organization.team_user_removed",
)

TIMEZONE_TYPES: Final = ("organization_timezone", "user_timezone")
# Five fields of numbers, names (JAN, MON), `*`, ranges, lists and steps; the platform parses it.
_CRON_FIELD: Final = r"[0-9A-Za-z*?/,\-]+"
_CRON: Final = re.compile(rf"{_CRON_FIELD}(\s+{_CRON_FIELD}){{4}}")


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# Older docs spell events like KUDOS_POSTED; both spellings name the dotted event.
_BY_SPELLING: Final = {name: name for name in EVENT_NAMES} | {
    name.upper().replace(".", "_"): name for name in EVENT_NAMES
}


def normalise_event_name(name: str) -> str:
    """The dotted form of an event name (`KUDOS_POSTED` -> `kudos.posted`).

    Names the runtime does not know are lower-cased and kept, so a new platform event can be
    handled before this list learns it.
    """
    cleaned = name.strip()
    return _BY_SPELLING.get(cleaned) or _BY_SPELLING.get(cleaned.upper()) or cleaned.lower()


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
        if (self.cron is None) == (self.execution_frequency is None):
            raise ValueError(
                f"schedule {self.name!r} needs either a cron or an execution_frequency, not both"
            )
        if self.cron is not None and not _CRON.fullmatch(self.cron.strip()):
            raise ValueError(
                f"schedule {self.name!r}: {self.cron!r} is not a five-field cron expression"
            )
        if self.execution_frequency is not None and not _positive(self.execution_frequency):
            raise ValueError(f"schedule {self.name!r}: execution_frequency must be minutes above 0")
        if not (self.repeats == -1 or _positive(self.repeats)):
            raise ValueError(f"schedule {self.name!r}: repeats must be -1 (forever) or above 0")
        if self.timezone_type not in TIMEZONE_TYPES:
            raise ValueError(
                f"schedule {self.name!r}: timezone_type must be one of {', '.join(TIMEZONE_TYPES)}"
            )
        try:
            self.fingerprint()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"schedule {self.name!r}: payload must be plain JSON ({exc})") from exc

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of every field: equal declarations, equal fingerprints."""
        canonical = json.dumps(
            {
                "name": self.name,
                "cron": self.cron,
                "execution_frequency": self.execution_frequency,
                "timezone_type": self.timezone_type,
                "repeats": self.repeats,
                "payload": dict(self.payload),
                "is_owned_by_user": self.is_owned_by_user,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def to_spec(self, callback_url: str | None) -> ScheduleSpec:
        """The platform request that creates this scheduled execution."""
        return ScheduleSpec(
            name=self.name,
            cron=self.cron,
            execution_frequency=self.execution_frequency,
            repeats=self.repeats,
            payload=dict(self.payload),
            timezone_type=self.timezone_type,
            is_owned_by_user=self.is_owned_by_user,
            callback_url=callback_url,
        )


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
