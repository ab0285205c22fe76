"""Parsing and validating a delivery body into a `Delivery`: command, event or scheduled run.

Dailybot sends all three to the same URL; they are told apart by their bodies
(`docs/dailybot-contract.md`).
Everything wrong with a body becomes a `DeliveryRefused` naming what is wrong, never a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from chalicelib.canonical import canonical_hash
from chalicelib.dailybot.events import normalise_event_name
from chalicelib.dailybot.models import JSONValue
from chalicelib.redaction import Secret
from chalicelib.settings import DeliveryFields

# The longest spelling `uuid.UUID` reads: "urn:uuid:" and braces around 36 characters.
_LONGEST_UUID: Final = 45
CORRELATION_ID_LENGTH: Final = 16
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


class DeliveryKind(StrEnum):
    COMMAND = "command"
    EVENT = "event"
    SCHEDULED = "scheduled"


class DeliveryRefused(Exception):
    """The delivery cannot be handled; `status`, `code` and `message` say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ScheduledRun:
    """The `scheduled_execution` part of a scheduled delivery."""

    uuid: str | None
    name: str
    payload: Mapping[str, JSONValue]


@dataclass(frozen=True)
class EventCallback:
    """The event part of an event delivery."""

    name: str
    body: Mapping[str, JSONValue]
    hook: str | None


@dataclass(frozen=True)
class Delivery:
    """A verified, parsed delivery. `identity` is the same for a redelivery of the same body."""

    kind: DeliveryKind
    identity: str
    sent_at: float
    organization_uuid: str
    user_uuid: str | None = None
    user_full_name: str | None = None
    command_uuid: str | None = None
    exchange_token: Secret | None = field(default=None, repr=False)
    intent: str | None = None
    text: str = ""
    user_context: Mapping[str, JSONValue] | None = None
    # The channel the command was typed in (absent in a direct message): follow-ups go there.
    target_channel: str | None = None
    event: EventCallback | None = None
    scheduled: ScheduledRun | None = None

    @property
    def subject(self) -> str:
        """What the delivery asks for: the intent, the event or the schedule name."""
        if self.event is not None:
            return self.event.name
        if self.scheduled is not None:
            return self.scheduled.name
        return self.intent or ""

    @property
    def correlation_id(self) -> str:
        """The short id in the delivery's log lines, its answer and its platform calls."""
        return self.identity[:CORRELATION_ID_LENGTH]

    def without_token(self) -> Delivery:
        """The same delivery without its exchange token: what may be kept or queued."""
        return replace(self, exchange_token=None)

    def to_json(self) -> dict[str, JSONValue]:
        """The delivery as a job message carries it: every field but the exchange token,
        which is not queued (a job fetches a token of its own when it runs)."""
        data: dict[str, JSONValue] = {
            item.name: getattr(self, item.name)
            for item in dataclass_fields(self)
            if item.name not in ("exchange_token", "event", "scheduled", "user_context")
        }
        data["kind"] = str(self.kind)
        data["user_context"] = None if self.user_context is None else dict(self.user_context)
        data["event"] = None if self.event is None else _plain(self.event)
        data["scheduled"] = None if self.scheduled is None else _plain(self.scheduled)
        return data

    @classmethod
    def from_json(cls, data: JSONValue) -> Delivery:
        """The delivery `to_json` wrote, every field checked; `DeliveryRefused` names the
        first wrong one (a queue message is input like any other)."""
        if not isinstance(data, dict):
            raise DeliveryRefused(400, "invalid_body", "A delivery must be a JSON object.")
        reader = _Reader(data, prefix="delivery.")
        try:
            kind = DeliveryKind(reader.text("kind"))
        except ValueError:
            raise reader.invalid("kind", "command, event or scheduled") from None
        delivery = cls(
            kind=kind,
            identity=reader.digest("identity"),
            sent_at=reader.timestamp("sent_at"),
            organization_uuid=reader.uuid("organization_uuid"),
            user_uuid=reader.optional_uuid("user_uuid"),
            user_full_name=reader.optional_text("user_full_name"),
            command_uuid=reader.optional_uuid("command_uuid"),
            intent=reader.optional_text("intent"),
            text=reader.optional_text("text") or "",
            user_context=reader.optional_object("user_context"),
            target_channel=reader.optional_text("target_channel"),
            event=_event_of(reader.optional_object("event")),
            scheduled=_scheduled_of(reader.optional_object("scheduled")),
        )
        problem = delivery._inconsistency()
        if problem is not None:
            raise DeliveryRefused(400, "invalid_field", f"The delivery {problem}.")
        return delivery

    def _inconsistency(self) -> str | None:
        if self.kind is DeliveryKind.EVENT and self.event is None:
            return "is an event without its event"
        if self.kind is DeliveryKind.SCHEDULED and self.scheduled is None:
            return "is a scheduled run without its scheduled execution"
        if self.kind is DeliveryKind.COMMAND and not (self.intent and self.user_uuid):
            return "is a command without its intent or user"
        return None


def _plain(part: EventCallback | ScheduledRun) -> dict[str, JSONValue]:
    values = {item.name: getattr(part, item.name) for item in dataclass_fields(part)}
    return {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in values.items()
    }


def _event_of(data: dict[str, JSONValue] | None) -> EventCallback | None:
    if data is None:
        return None
    reader = _Reader(data, prefix="delivery.event.")
    return EventCallback(
        name=normalise_event_name(reader.text("name")),
        body=reader.optional_object("body") or {},
        hook=reader.optional_text("hook"),
    )


def _scheduled_of(data: dict[str, JSONValue] | None) -> ScheduledRun | None:
    if data is None:
        return None
    reader = _Reader(data, prefix="delivery.scheduled.")
    return ScheduledRun(
        uuid=reader.optional_text("uuid"),
        name=reader.text("name"),
        payload=reader.optional_object("payload") or {},
    )


def parse_delivery(body: bytes, fields: DeliveryFields, *, max_bytes: int) -> Delivery:
    """The delivery in `body`, or `DeliveryRefused`."""
    if len(body) > max_bytes:
        raise DeliveryRefused(413, "body_too_large", f"The body exceeds {max_bytes} bytes.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DeliveryRefused(400, "invalid_json", "The body is not valid JSON.") from None
    except RecursionError:  # thousands of nested arrays fit in the size limit
        raise DeliveryRefused(400, "invalid_body", "The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise DeliveryRefused(400, "invalid_body", "The body must be a JSON object.")
    delivery = _parse(_Reader(data), data, fields)
    try:
        identity = delivery_identity(data, fields, _normalised(delivery, fields))
    except RecursionError:  # thousands of nested arrays fit in the size limit
        raise DeliveryRefused(400, "invalid_body", "The body is nested too deeply.") from None
    return replace(delivery, identity=identity)


def _parse(reader: _Reader, data: dict[str, JSONValue], fields: DeliveryFields) -> Delivery:
    common: dict[str, Any] = {
        "identity": "",
        "sent_at": reader.timestamp("event_timestamp"),
        "organization_uuid": reader.uuid("organization_uuid"),
        "command_uuid": reader.optional_uuid(fields.command_uuid),
        "exchange_token": _token(reader.optional_text(fields.exchange_token), fields),
    }
    if fields.event in data:
        return _event(reader, fields, common)
    user = {
        "user_uuid": reader.optional_uuid("user_uuid"),
        "user_full_name": reader.optional_text("user_full_name"),
        "user_context": reader.optional_object(fields.user_context),
        "text": _query(reader, fields),
        "target_channel": _channel(reader, fields.target_channel),
    }
    if fields.scheduled_execution in data:
        return _scheduled(reader, fields, common | user)
    return Delivery(
        kind=DeliveryKind.COMMAND,
        intent=reader.text("intent").strip().lower(),
        **common | user | {"user_uuid": reader.uuid("user_uuid")},
    )


def delivery_identity(
    data: Mapping[str, JSONValue],
    fields: DeliveryFields,
    normalised: Mapping[str, JSONValue] | None = None,
) -> str:
    """The canonical hash of the body without its exchange token (which differs per attempt),
    its known fields in their parsed form: only a real difference makes a new delivery."""
    stable = {key: value for key, value in data.items() if key != fields.exchange_token}
    return canonical_hash(stable | dict(normalised or {}))


def _normalised(delivery: Delivery, fields: DeliveryFields) -> dict[str, JSONValue]:
    """The parsed values of the fields that have more than one spelling (`Z` or `+00:00`,
    `REMEMBER` or `remember`, `KUDOS_POSTED` or `kudos.posted`, UUIDs in either case)."""
    values: dict[str, JSONValue] = {
        "event_timestamp": delivery.sent_at,
        "organization_uuid": delivery.organization_uuid,
    }
    if delivery.user_uuid is not None:
        values["user_uuid"] = delivery.user_uuid
    if delivery.command_uuid is not None:
        values[fields.command_uuid] = delivery.command_uuid
    if delivery.kind is DeliveryKind.COMMAND:
        values["intent"] = delivery.intent
    if delivery.event is not None:
        values[fields.event] = delivery.event.name
    return values


def _event(reader: _Reader, fields: DeliveryFields, common: dict[str, Any]) -> Delivery:
    hook = reader.optional_object(fields.hook) or {}
    hook_uuid = hook.get("uuid")
    return Delivery(
        kind=DeliveryKind.EVENT,
        event=EventCallback(
            name=normalise_event_name(reader.text(fields.event)),
            body=reader.optional_object(fields.event_body) or {},
            hook=None if hook_uuid is None else str(hook_uuid),
        ),
        **common,
    )


def _scheduled(reader: _Reader, fields: DeliveryFields, known: dict[str, Any]) -> Delivery:
    run = reader.optional_object(fields.scheduled_execution) or {}
    inner = _Reader(dict(run), prefix=f"{fields.scheduled_execution}.")
    payload = inner.optional_object("payload") or {}
    return Delivery(
        kind=DeliveryKind.SCHEDULED,
        intent=reader.optional_text("intent"),
        scheduled=ScheduledRun(
            uuid=inner.optional_text("uuid"), name=inner.text("name"), payload=payload
        ),
        **known,
    )


def _query(reader: _Reader, fields: DeliveryFields) -> str:
    for name in fields.query:
        value = reader.optional_text(name)
        if value is not None:
            return value.strip()
    return ""


def _channel(reader: _Reader, name: str) -> str | None:
    """The channel's id: the field is `{"id": ..., "is_channel_message": true}` (ASSUMED)."""
    channel = reader.optional_object(name)
    if channel is None:
        return None
    channel_id = channel.get("id")
    if not isinstance(channel_id, str) or not channel_id.strip():
        raise DeliveryRefused(
            400, "invalid_field", f"The field '{name}.id' must be a non-empty string."
        )
    return channel_id


def _token(value: str | None, fields: DeliveryFields) -> Secret | None:
    # It travels in a header, which carries visible ASCII only; the value is never echoed.
    if value and not (value.isascii() and value.isprintable()):
        raise DeliveryRefused(
            400, "invalid_field", f"The field {fields.exchange_token!r} must be ASCII text."
        )
    return Secret(value) if value else None


class _Reader:
    """Typed access to the body's fields, refusing with the field's name when it is wrong."""

    def __init__(self, data: dict[str, JSONValue], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix

    def _missing(self, name: str) -> DeliveryRefused:
        return DeliveryRefused(
            400, "missing_field", f"The required field {self._prefix}{name!r} is missing."
        )

    def invalid(self, name: str, expected: str) -> DeliveryRefused:
        return DeliveryRefused(
            400, "invalid_field", f"The field {self._prefix}{name!r} must be {expected}."
        )

    def text(self, name: str) -> str:
        value = self.optional_text(name)
        if value is None or not value.strip():
            raise self._missing(name)
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.invalid(name, "a string")
        return value

    def digest(self, name: str) -> str:
        """A SHA-256 hex digest (an identity)."""
        value = self.text(name)
        if not _DIGEST.fullmatch(value):
            raise self.invalid(name, "a SHA-256 hex digest")
        return value

    def uuid(self, name: str) -> str:
        value = self.optional_uuid(name)
        if value is None:
            raise self._missing(name)
        return value

    def optional_uuid(self, name: str) -> str | None:
        """A UUID in its canonical lower-case form; anything else is refused, so no field the
        platform types as a UUID can carry arbitrary text (or size) into the runtime."""
        value = self.optional_text(name)
        if value is None:
            return None
        try:
            if len(value) > _LONGEST_UUID:
                raise ValueError(value[:_LONGEST_UUID])
            return str(UUID(value))
        except ValueError:
            raise DeliveryRefused(
                400, "invalid_uuid", f"The field {self._prefix}{name!r} must be a UUID."
            ) from None

    def optional_object(self, name: str) -> dict[str, JSONValue] | None:
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.invalid(name, "an object")
        return value

    def timestamp(self, name: str) -> float:
        value = self._data.get(name)
        if value is None or value == "":
            raise self._missing(name)
        instant = parse_instant(value)
        if instant is None:
            raise self.invalid(name, "an ISO 8601 string or a Unix timestamp")
        return instant


def parse_instant(value: JSONValue) -> float | None:
    """Unix seconds of an ISO 8601 string (naive means UTC) or a Unix number; None if neither."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value) if _looks_numeric(value) else _iso_seconds(value)
        else:
            return None
    except (ValueError, OverflowError):  # not a date, or an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _looks_numeric(text: str) -> bool:
    return text.strip().replace(".", "", 1).isdigit()


def _iso_seconds(text: str) -> float:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
