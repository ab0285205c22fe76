"""What a kit test reads: replies, deliveries, platform calls, follow-up messages, schedules.

Every value is built from what crossed the wire, with exchange tokens replaced by a
placeholder, so printing one (or a failing assertion showing it) never reveals a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from chalicelib.dailybot.models import ScheduledExecution
from chalicelib.redaction import REDACTED
from chalicelib.runtime import Button

# Fields that carry an exchange token in delivery bodies and platform API bodies.
TOKEN_FIELDS: Final = frozenset({"exchange_token", "token"})


def without_tokens(value: Any) -> Any:
    """`value` (parsed JSON) with every token field replaced by the placeholder."""
    if isinstance(value, dict):
        return {
            key: REDACTED if key in TOKEN_FIELDS and item else without_tokens(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_tokens(item) for item in value]
    return value


def buttons_of(raw: Any) -> tuple[Button, ...]:
    """The buttons of a reply or message body (entries that are not buttons are skipped)."""
    if not isinstance(raw, list):
        return ()
    return tuple(
        Button(
            label=item["label"],
            value=item["value"],
            label_after_click=item.get("label_after_click"),
            button_type=item.get("button_type", "Command"),
        )
        for item in raw
        if isinstance(item, dict) and item.get("label") and item.get("value")
    )


@dataclass(frozen=True)
class Reply:
    """What the command answered, as Dailybot shows it.

    A delivery answered without anything to say (an event, a scheduled run whose handler
    returned None) has an empty `message`.
    """

    message: str
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> Reply:
        if not isinstance(body, Mapping):
            return cls(message="" if body is None else str(body))
        message = body.get("message")
        image_url = body.get("image_url")
        return cls(
            message=message if isinstance(message, str) else "",
            buttons=buttons_of(body.get("buttons")),
            image_url=image_url if isinstance(image_url, str) else None,
        )


@dataclass(frozen=True)
class Delivery:
    """One attempt of Dailybot calling the command, and what the command answered.

    `kind` is `invocation`, `event` or `scheduled_execution`; `status` is None when the
    command never answered (then `error` says why). `body` is what was sent (tokens hidden).
    """

    kind: str
    attempt: int
    status: int | None
    error: str | None
    at: str
    body: Mapping[str, Any] = field(default_factory=dict)
    answer: Any = None

    @property
    def reply(self) -> Reply:
        return Reply.from_json(self.answer)

    def summary(self) -> str:
        """One line: what was delivered and what came back."""
        subject = _subject(self.body)
        outcome = f"{self.status}" if self.status is not None else f"no answer ({self.error})"
        answer = _shorten(self.reply.message if isinstance(self.answer, Mapping) else self.answer)
        retry = f" attempt {self.attempt}" if self.attempt > 1 else ""
        return f"{self.at} {self.kind} {subject}{retry} -> {outcome} {answer}".rstrip()


@dataclass(frozen=True)
class PlatformCall:
    """One call the runtime made to the platform API and the status it got."""

    method: str
    path: str
    status: int
    request: Any = None
    response: Any = None

    def summary(self) -> str:
        detail = ""
        if self.status >= 400 and isinstance(self.response, Mapping):
            detail = f" {self.response.get('code') or self.response.get('detail') or ''}"
        return f"{self.method} {self.path} -> {self.status}{detail}".rstrip()


@dataclass(frozen=True)
class SentMessage:
    """A follow-up message sent through `POST /v1/send-message/`, with its targets."""

    message: str
    buttons: tuple[Button, ...]
    image_url: str | None
    target_users: tuple[str, ...]
    target_channels: tuple[str, ...]
    target_teams: tuple[str, ...]
    sender: str | None
    at: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SentMessage:
        return cls(
            message=str(record.get("message", "")),
            buttons=buttons_of(record.get("buttons")),
            image_url=record.get("image_url"),
            target_users=tuple(record.get("target_users") or ()),
            target_channels=tuple(record.get("target_channels") or ()),
            target_teams=tuple(record.get("target_teams") or ()),
            sender=record.get("user_uuid"),
            at=str(record.get("created_at", "")),
        )


@dataclass(frozen=True, kw_only=True)
class Schedule(ScheduledExecution):
    """A scheduled execution the platform holds for the command: its fields, the organization
    it fires in, whose it is, how often it ran and when it fires next."""

    organization_uuid: str
    user_uuid: str | None
    executions: int
    next_fire_at: datetime | None


def instant(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _subject(body: Mapping[str, Any]) -> str:
    if "event" in body:
        return f"{body['event']!r}"
    scheduled = body.get("scheduled_execution")
    if isinstance(scheduled, Mapping):
        return f"{scheduled.get('name')!r}"
    text = f"{body.get('intent', '')} {body.get('query', '')}".strip()
    return f"{text!r} by {body.get('user_full_name', 'nobody')}"


def _shorten(value: Any, width: int = 80) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def summaries(items: Sequence[Delivery | PlatformCall], last: int) -> list[str]:
    """The last `last` items, one line each, oldest first."""
    return [f"  {item.summary()}" for item in items[-last:]]
