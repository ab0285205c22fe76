"""Typed values the Dailybot Commands Platform API takes and answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias

from chalicelib.redaction import Secret

JSONValue: TypeAlias = Any
"""Any value that round-trips through JSON (mypy cannot express the recursive type well)."""


@dataclass(frozen=True)
class ScheduleSpec:
    """What `POST /v1/platform/scheduling/` creates. `None` fields are left to the platform."""

    name: str
    cron: str | None = None
    execution_frequency: int | None = None
    repeats: int | None = None
    payload: Mapping[str, JSONValue] = field(default_factory=dict)
    timezone_type: str | None = None
    is_owned_by_user: bool | None = None
    callback_url: str | None = None

    def as_dict(self) -> dict[str, JSONValue]:
        """Every field by name: the one list of a schedule's fields the rest derives from."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["payload"] = dict(self.payload)
        return values


# What `PUT /v1/platform/scheduling/{uuid}/` accepts: every field but `is_owned_by_user`.
UPDATABLE_SCHEDULE_FIELDS: tuple[str, ...] = tuple(
    name for name in ScheduleSpec("").as_dict() if name != "is_owned_by_user"
)


@dataclass(frozen=True)
class ScheduledExecution:
    """A scheduled execution as `GET /v1/platform/scheduling/{uuid}/` answers it."""

    uuid: str
    name: str
    timezone_type: str | None
    is_active: bool
    cron: str | None
    execution_frequency: int
    repeats: int
    payload: Mapping[str, JSONValue]
    callback_url: str | None


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
