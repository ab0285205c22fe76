"""Typed values the Dailybot Commands Platform API takes and answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import NoneType, UnionType
from typing import Any, Final, TypeAlias, TypedDict, get_args, get_origin, get_type_hints

from chalicelib.redaction import Secret

JSONValue: TypeAlias = (
    "Mapping[str, JSONValue] | Sequence[JSONValue] | str | int | float | bool | None"
)
"""A value that round-trips through JSON: objects, arrays, text, numbers, booleans, null."""


@dataclass(frozen=True)
class ScheduleSpec:
    """What `POST /v1/platform/scheduling/` creates. `None` fields are left to the platform.

    The one definition of a scheduled execution's fields: the request bodies, the answers,
    the declarations and the keyword arguments of `scheduled(...)` and `schedules.create(...)`
    all derive from it (see `ScheduleOptions`).
    """

    name: str
    cron: str | None = None
    execution_frequency: int | None = None
    repeats: int | None = None
    payload: Mapping[str, JSONValue] = field(default_factory=dict)
    timezone_type: str | None = None
    is_owned_by_user: bool | None = None
    callback_url: str | None = None

    @classmethod
    def of(cls, values: Mapping[str, JSONValue]) -> ScheduleSpec:
        """The spec whose fields by name are `values` (what `as_dict` gives)."""
        return ScheduleSpec(**dict[str, Any](values))

    def as_dict(self) -> dict[str, JSONValue]:
        """Every field of the spec by name (a subclass's own fields are not the spec's)."""
        values = {name: getattr(self, name) for name in SCHEDULE_FIELDS}
        values["payload"] = dict(self.payload or {})  # an untyped caller's None: no payload
        return values


SCHEDULE_FIELDS: Final = tuple(item.name for item in fields(ScheduleSpec))
"""Every field of a scheduled execution, `name` first."""


def _json_kind(hint: Any) -> type:
    """What a field annotated `hint` holds once decoded from JSON (`int | None` -> int,
    `Mapping[...]` -> dict)."""
    if isinstance(hint, UnionType):
        (hint,) = (kind for kind in get_args(hint) if kind is not NoneType)
    kind = get_origin(hint) or hint
    return dict if kind is Mapping else kind


SCHEDULE_FIELD_KINDS: Final[Mapping[str, type]] = {
    name: _json_kind(hint)
    for name, hint in get_type_hints(ScheduleSpec).items()
    if name in SCHEDULE_FIELDS
}
"""Each field's JSON type (`None` aside), derived from `ScheduleSpec`'s annotations."""


class ScheduleOptions(TypedDict, total=False):
    """`ScheduleSpec`'s fields after `name`, as keyword arguments (`scheduled(name, ...)`,
    `ctx.schedules.create(name, ...)`).

    Python's types cannot derive keyword arguments from a dataclass, so this repeats
    `ScheduleSpec`'s names and types; a test fails when the two differ.
    """

    cron: str | None
    execution_frequency: int | None
    repeats: int | None
    payload: Mapping[str, JSONValue]
    timezone_type: str | None
    is_owned_by_user: bool | None
    callback_url: str | None


SCHEDULE_DEFAULTS: Final[ScheduleOptions] = {"execution_frequency": 0, "repeats": -1, "payload": {}}
"""What the platform holds for these fields when a create leaves them out."""

# What `PUT /v1/platform/scheduling/{uuid}/` accepts: every field but `is_owned_by_user`.
UPDATABLE_SCHEDULE_FIELDS: Final = tuple(
    name for name in SCHEDULE_FIELDS if name != "is_owned_by_user"
)


@dataclass(frozen=True, kw_only=True)
class ScheduledExecution(ScheduleSpec):
    """A scheduled execution as `GET /v1/platform/scheduling/{uuid}/` answers it: the spec's
    fields as the platform holds them (`is_owned_by_user` is None: the answer leaves it out),
    its uuid and whether it is active."""

    uuid: str
    is_active: bool = True


@dataclass(frozen=True)
class ActivityEntry:
    """What `POST /v1/platform/activity/` records."""

    category: str
    action: str
    label: str | None = None
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)
    user_uuid: str | None = None


@dataclass(frozen=True)
class ActivityRecord:
    """One record of the command's activity log."""

    command: str | None
    organization: str | None
    user: str | None
    category: str
    action: str
    label: str | None
    metadata: Mapping[str, JSONValue]
    created_at: str


class InvalidMessage(ValueError):
    """A chat message (a reply or a follow-up) that Dailybot cannot show."""


@dataclass(frozen=True)
class MessageButton:
    """A chat button; clicking it runs `value` as a command (`button_type="Command"`).

    The same shape in a command's reply and in the send-message API.
    """

    label: str
    value: str
    label_after_click: str | None = None
    button_type: str = "Command"

    def __post_init__(self) -> None:
        for name in ("label", "value", "button_type"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise InvalidMessage(f"a button's {name} must be non-empty text")
        if self.label_after_click is not None and not isinstance(self.label_after_click, str):
            raise InvalidMessage("a button's label_after_click must be text")

    def to_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            "label": self.label,
            "value": self.value,
            "button_type": self.button_type,
        }
        if self.label_after_click is not None:
            data["label_after_click"] = self.label_after_click
        return data


@dataclass(frozen=True)
class OutgoingMessage:
    """A follow-up message sent through `POST /v1/send-message/`."""

    message: str
    target_users: tuple[str, ...] = ()
    target_channels: tuple[str, ...] = ()
    target_teams: tuple[str, ...] = ()
    buttons: tuple[MessageButton, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True)
class ExchangeTokenGrant:
    """The answer of the fetch-exchange-token endpoint. `token` is kept out of reprs."""

    token: Secret
    user_context: Mapping[str, JSONValue] | None = None
