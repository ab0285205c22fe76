"""What a deployment declares it needs from the platform: scheduled executions and event hooks.

Handlers declare these through `scheduled(...)` and `event(...)`. Each declaration is checked
when it is made, at import, against what the platform takes (cron fields in range and a
schedule that can fire, known event names, every field's type and value): one the platform
would refuse raises `InvalidDeclaration` saying what to change. Self-registration compares
them with what the platform holds (by `fingerprint()`) and creates or updates the difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from chalicelib.canonical import canonical_hash
from chalicelib.dailybot.cron import cron_problem
from chalicelib.dailybot.events import EVENT_NAMES, closest_event_name, known_event_name
from chalicelib.dailybot.models import (
    SCHEDULE_FIELD_KINDS,
    SCHEDULE_FIELDS,
    JSONValue,
    ScheduleOptions,
    ScheduleSpec,
)

ORGANIZATION_TIMEZONE: Final = "organization_timezone"
TIMEZONE_TYPES: Final = (ORGANIZATION_TIMEZONE, "user_timezone")
DECLARED_DEFAULTS: Final[ScheduleOptions] = {
    "timezone_type": ORGANIZATION_TIMEZONE,
    "repeats": -1,
    "payload": {},
    # The deployment's own schedule: it fires for the command, not for whoever registered it
    # (the platform's default for a create).
    "is_owned_by_user": False,
}
"""What a declared schedule holds for a field it does not set (written out, so that what the
platform holds can be compared with it)."""

# What the platform takes (the Commands Platform API, as the emulator enforces it).
LONGEST_NAME: Final = 255
LONGEST_FREQUENCY_MINUTES: Final = 366 * 24 * 60
LARGEST_PAYLOAD_BYTES: Final = 64 * 1024
MOST_REPEATS: Final = 2**31 - 1
EXAMPLE_CRON: Final = "cron='0 9 * * 1-5' (weekdays at 09:00)"


class InvalidDeclaration(ValueError):
    """A declaration the platform would refuse; the message names the handler and the fix."""


@dataclass(frozen=True)
class ScheduleDeclaration(ScheduleSpec):
    """A scheduled execution the deployment wants to exist, named after its handler.

    Its fields are `ScheduleSpec`'s; those left unset hold `DECLARED_DEFAULTS`. `handler` names
    the function it was declared on (for messages); `owner_only` keeps it to the owner's
    organization (every organization using the command gets it otherwise). Neither is sent to
    the platform.
    """

    handler: str = field(default="", compare=False, kw_only=True)
    owner_only: bool = field(default=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        for name, value in DECLARED_DEFAULTS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        problem = _schedule_problem(self)
        if problem:
            raise InvalidDeclaration(f"{self.where()}: {problem}")

    def where(self) -> str:
        """The declaration as its author wrote it, and where (`@scheduled('x') on mod.fn`)."""
        declared = f"@scheduled({self.name!r})"
        return f"{declared} on {self.handler}" if self.handler else declared

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def fields(self) -> dict[str, JSONValue]:
        """Every declared field by name (the callback URL is the deployment's, not declared)."""
        values = self.as_dict()
        del values["callback_url"]
        return values

    def fingerprint(self) -> str:
        """The canonical hash of every field: equal declarations, equal fingerprints."""
        return canonical_hash(self.fields())

    def to_spec(self, callback_url: str | None) -> ScheduleSpec:
        """The platform request that creates this scheduled execution."""
        return ScheduleSpec.of({**self.fields(), "callback_url": callback_url})


def _schedule_problem(declaration: ScheduleDeclaration) -> str | None:
    for check in _SCHEDULE_CHECKS:
        problem = check(declaration)
        if problem:
            return problem
    return None


def _wrong_types(declaration: ScheduleDeclaration) -> str | None:
    for name in SCHEDULE_FIELDS:
        value = getattr(declaration, name)
        kind = SCHEDULE_FIELD_KINDS[name]
        if kind is dict:
            kind = Mapping
        if value is not None and (not isinstance(value, kind) or _bool_for_int(value, kind)):
            return f"{name} must be {_kind_name(kind)}, not {type(value).__name__} ({value!r})"
    return None


def _bool_for_int(value: object, kind: type) -> bool:
    return kind is int and isinstance(value, bool)


def _kind_name(kind: type) -> str:
    return {str: "text", int: "a whole number", bool: "True or False"}.get(kind, "a JSON object")


def _bad_name(declaration: ScheduleDeclaration) -> str | None:
    if not declaration.name.strip():
        return "a scheduled handler needs a name, e.g. @scheduled('daily-digest', ...)"
    if len(declaration.name) > LONGEST_NAME:
        return f"the name is {len(declaration.name)} characters; the platform takes {LONGEST_NAME}"
    return None


def _bad_timing(declaration: ScheduleDeclaration) -> str | None:
    cron, frequency = declaration.cron, declaration.execution_frequency
    if cron is None and frequency is None:
        return f"say when it runs: {EXAMPLE_CRON}, or execution_frequency=MINUTES"
    if cron is not None and frequency is not None:
        return "give either a cron or an execution_frequency, not both"
    if cron is not None:
        problem = cron_problem(cron)
        return None if problem is None else f"cron {cron!r}: {problem}. For example {EXAMPLE_CRON}"
    if frequency is not None and not 1 <= frequency <= LONGEST_FREQUENCY_MINUTES:
        return (
            f"execution_frequency is the minutes between runs, 1 to {LONGEST_FREQUENCY_MINUTES};"
            f" got {frequency}"
        )
    return None


def _bad_values(declaration: ScheduleDeclaration) -> str | None:
    repeats = declaration.repeats
    if repeats is not None and not (repeats == -1 or 1 <= repeats <= MOST_REPEATS):
        return f"repeats is how many runs: -1 for ever, or 1 and more; got {repeats}"
    if declaration.timezone_type not in TIMEZONE_TYPES:
        return (
            f"timezone_type must be {' or '.join(map(repr, TIMEZONE_TYPES))},"
            f" not {declaration.timezone_type!r}"
        )
    if declaration.callback_url is not None:
        return (
            "callback_url is not declared: self-registration sets the deployment's own"
            " (DAILYBOT_PUBLIC_URL)"
        )
    return None


_PLAIN_JSON: Final = "payload must be plain JSON: text keys; text, numbers, lists, objects"


def _bad_payload(declaration: ScheduleDeclaration) -> str | None:
    payload = dict(declaration.payload)
    try:
        text = json.dumps(payload, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return f"{_PLAIN_JSON} ({exc})"
    # What JSON would change on the way (a number key, a tuple) is not plain JSON either.
    if json.loads(text) != payload:
        return f"{_PLAIN_JSON}; {payload!r} would reach the handler changed"
    if len(text.encode("utf-8", "surrogatepass")) > LARGEST_PAYLOAD_BYTES:
        return f"the payload is over {LARGEST_PAYLOAD_BYTES // 1024} KiB of JSON; keep it smaller"
    return None


_SCHEDULE_CHECKS: Final[tuple[Callable[[ScheduleDeclaration], str | None], ...]] = (
    _wrong_types,
    _bad_name,
    _bad_timing,
    _bad_values,
    _bad_payload,
)


@dataclass(frozen=True)
class EventDeclaration:
    """An event the deployment handles, in dotted form, optionally narrowed to some objects
    (kept as a tuple).

    `handler` names the function it was declared on (for messages); `owner_only` keeps it to
    the owner's organization's hook.
    """

    event: str
    subscribed_objects: Sequence[str] = ()
    handler: str = field(default="", compare=False, kw_only=True)
    owner_only: bool = field(default=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "event", _known_event(self.event))
            object.__setattr__(self, "subscribed_objects", _objects(self.subscribed_objects))
        except InvalidDeclaration as error:
            raise InvalidDeclaration(f"{self.where()}: {error}") from None

    def where(self) -> str:
        """The declaration as its author wrote it, and where (`@event('x') on mod.fn`)."""
        declared = f"@event({self.event!r})"
        return f"{declared} on {self.handler}" if self.handler else declared


def _known_event(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidDeclaration(
            f"an event declaration needs an event name, e.g. @event('kudos.posted'); got {name!r}"
        )
    known = known_event_name(name)
    if known is not None:
        return known
    guess = closest_event_name(name)
    hint = f"did you mean {guess!r}? " if guess else ""
    raise InvalidDeclaration(
        f"{name.strip()!r} is not an event Dailybot sends; {hint}The events are"
        f" {', '.join(EVENT_NAMES)} (or their KUDOS_POSTED spelling)"
    )


def _objects(objects: object) -> tuple[str, ...]:
    if isinstance(objects, str) or not isinstance(objects, Sequence):
        raise InvalidDeclaration(
            "subscribed_objects is a list of object ids, e.g. subscribed_objects=['<uuid>'];"
            f" got {objects!r}"
        )
    if not all(isinstance(item, str) and item.strip() for item in objects):
        raise InvalidDeclaration(f"subscribed_objects holds only non-empty text; got {objects!r}")
    return tuple(objects)
