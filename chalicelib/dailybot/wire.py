"""The platform's JSON shapes: request bodies from our values, our values from answers.

Readers check the shape of what they read and raise `InvalidResponse` (never `KeyError` or
`TypeError`) when a success answer is not what the platform documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from chalicelib.dailybot.errors import InvalidResponse
from chalicelib.dailybot.models import (
    SCHEDULE_DEFAULTS,
    SCHEDULE_FIELD_KINDS,
    SCHEDULE_FIELDS,
    ActivityEntry,
    ActivityRecord,
    ExchangeTokenGrant,
    JSONValue,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleSpec,
)
from chalicelib.redaction import Secret

JSONObject = dict[str, JSONValue]
T = TypeVar("T")

# -- request bodies ------------------------------------------------------------------------


def fetch_token_body(user_uuid: str, *, include_user_context: bool) -> JSONObject:
    body: JSONObject = {"user_uuid": user_uuid}
    if include_user_context:
        body["include_user_context"] = True
    return body


def schedule_body(spec: ScheduleSpec, *, command_uuid: str | None) -> JSONObject:
    """Only the fields that are set: the platform's defaults apply to the rest."""
    body: JSONObject = {"name": spec.name}
    if command_uuid is not None:
        body["command_uuid"] = command_uuid
    body.update({name: value for name, value in spec.as_dict().items() if value is not None})
    if not spec.payload:
        del body["payload"]
    return body


def storage_body(
    op: str, key: str, *, namespace: str | None, value: JSONValue = None, with_value: bool = False
) -> JSONObject:
    params: JSONObject = {"key": key}
    if with_value:
        params["value"] = value
    body: JSONObject = {"op": op, "params": params}
    if namespace is not None:
        body["namespace"] = namespace
    return body


def subscription_body(subscriptions: list[str], subscribed_objects: list[str] | None) -> JSONObject:
    body: JSONObject = {"subscriptions": subscriptions}
    if subscribed_objects is not None:
        body["subscribed_objects"] = subscribed_objects
    return body


def activity_body(entry: ActivityEntry) -> JSONObject:
    body: JSONObject = {"category": entry.category, "action": entry.action}
    if entry.label is not None:
        body["label"] = entry.label
    if entry.metadata:
        body["metadata"] = dict(entry.metadata)
    if entry.user_uuid is not None:
        body["user_uuid"] = entry.user_uuid
    return body


def message_body(message: OutgoingMessage, *, exchange_token: Secret | None) -> JSONObject:
    body: JSONObject = {"message": message.message}
    targets = {
        "target_users": message.target_users,
        "target_channels": message.target_channels,
        "target_teams": message.target_teams,
    }
    body.update({name: list(values) for name, values in targets.items() if values})
    if message.buttons:
        body["buttons"] = [button.to_json() for button in message.buttons]
    if message.image_url is not None:
        body["image_url"] = message.image_url
    if exchange_token is not None:
        body["exchange_token"] = exchange_token.reveal()
    return body


# -- answers -------------------------------------------------------------------------------


def token_grant_from(body: JSONValue) -> ExchangeTokenGrant:
    answer = _object(body, "exchange token")
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidResponse("the exchange token answer has no token")
    context = answer.get("user_context")
    return ExchangeTokenGrant(
        token=Secret(token), user_context=context if isinstance(context, dict) else None
    )


def uuid_from(body: JSONValue, name: str = "uuid") -> str:
    """An identifier the platform answered; numbers are turned into text."""
    value = _object(body, name).get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidResponse(f"the answer has no usable {name!r}")
    return str(value)


def stored_value_from(body: JSONValue, key: str) -> JSONValue:
    """The value of `key` in a storage `get` answer (`{"<key>": value}`), None when absent."""
    return _object(body, "storage").get(key)


def scheduled_execution_from(body: JSONValue) -> ScheduledExecution:
    answer = _object(body, "scheduled execution")
    return ScheduledExecution(
        uuid=uuid_from(answer),
        is_active=_field(answer, "is_active", bool, default=True),
        name=_field(answer, "name", str),
        **dict[str, Any](
            {name: _schedule_field(answer, name) for name in SCHEDULE_FIELDS if name != "name"}
        ),
    )


def _schedule_field(answer: Mapping[str, JSONValue], name: str) -> JSONValue:
    """An optional field of a scheduled execution, read as the type `ScheduleSpec` gives it;
    left out, the platform's default (or None)."""
    kind = SCHEDULE_FIELD_KINDS[name]
    default = SCHEDULE_DEFAULTS.get(name)
    if kind is int:
        return _integer(answer, name, default=default if isinstance(default, int) else None)
    if kind is str:
        return _optional_text(answer, name)
    return _field(answer, name, kind, default=default)


def activity_record_from(body: JSONValue) -> ActivityRecord:
    answer = _object(body, "activity record")
    return ActivityRecord(
        command=_optional_text(answer, "command"),
        organization=_optional_text(answer, "organization"),
        user=_optional_text(answer, "user"),
        category=_field(answer, "category", str),
        action=_field(answer, "action", str),
        label=_optional_text(answer, "label"),
        metadata=_field(answer, "metadata", dict, default={}),
        created_at=_field(answer, "created_at", str),
    )


def activity_records_from(body: JSONValue) -> list[ActivityRecord]:
    # Tolerate a paginated envelope as well as the documented bare list.
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        body = body["results"]
    if not isinstance(body, list):
        raise InvalidResponse("the activity answer is not a list")
    return [activity_record_from(item) for item in body]


# -- shape checks --------------------------------------------------------------------------

_REQUIRED: Any = object()


def _object(body: JSONValue, what: str) -> Mapping[str, JSONValue]:
    if not isinstance(body, dict):
        raise InvalidResponse(f"the {what} answer is not a JSON object")
    return body


def _field(
    answer: Mapping[str, JSONValue], name: str, kind: type[T], *, default: Any = _REQUIRED
) -> T:
    value = answer.get(name)
    if value is None and default is not _REQUIRED:
        return default  # type: ignore[no-any-return]
    if not isinstance(value, kind):
        raise InvalidResponse(f"the answer's {name!r} is missing or not {kind.__name__}")
    return value


def _integer(answer: Mapping[str, JSONValue], name: str, *, default: int | None) -> int | None:
    value = answer.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidResponse(f"the answer's {name!r} is not an integer")
    return value


def _optional_text(answer: Mapping[str, JSONValue], name: str) -> str | None:
    value = answer.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidResponse(f"the answer's {name!r} is not text")
    return str(value)
