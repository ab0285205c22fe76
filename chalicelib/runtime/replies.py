"""Replies to Dailybot: a message with optional buttons and image, validated and made JSON.

A handler may return a plain `str`; the runtime wraps it in a `Reply`. Dailybot shows the
`message` (with its chat formatting), the image and up to 25 buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from chalicelib.dailybot.models import InvalidMessage, JSONValue, MessageButton

MAX_BUTTONS: Final = 25


# A reply's buttons are the send-message API's buttons.
Button = MessageButton


class InvalidReply(InvalidMessage):
    """A handler built a reply Dailybot cannot show."""


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a message, optional buttons (at most 25) and an image URL."""

    message: str
    buttons: Sequence[Button] = ()
    image_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.message, str):
            raise InvalidReply("a reply message must be text")
        object.__setattr__(self, "buttons", tuple(self.buttons))
        if len(self.buttons) > MAX_BUTTONS:
            raise InvalidReply(
                f"a reply has at most {MAX_BUTTONS} buttons, got {len(self.buttons)}"
            )
        if not all(isinstance(button, Button) for button in self.buttons):
            raise InvalidReply("reply buttons must be Button values")
        if self.image_url is not None and not isinstance(self.image_url, str):
            raise InvalidReply("a reply's image_url must be text")

    def to_json(self) -> dict[str, JSONValue]:
        """The JSON body Dailybot shows: `message`, and `image_url`/`buttons` when set."""
        data: dict[str, JSONValue] = {"message": self.message}
        if self.image_url:
            data["image_url"] = self.image_url
        if self.buttons:
            data["buttons"] = [button.to_json() for button in self.buttons]
        return data


ReplyLike = Reply | str


def as_reply(value: object) -> Reply | None:
    """A handler's return value as a `Reply` (None stays None: nothing to say)."""
    if value is None or isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(value)
    raise InvalidReply(f"a handler must return a Reply or a str, not {type(value).__name__}")


# -- what the runtime itself says -----------------------------------------------------------

ACKNOWLEDGED: Final[dict[str, JSONValue]] = {"status": "accepted"}
"""The body for a delivery handled without anything to say (events, scheduled runs)."""


def unknown_command_reply(intent: str, commands: dict[str, str]) -> Reply:
    lines = [f"Sorry, I don't know the command *{intent}*."]
    if commands:
        lines.append("Available commands:")
        lines.extend(
            f"- `{name}`: {summary}" if summary else f"- `{name}`"
            for name, summary in commands.items()
        )
    return Reply("\n".join(lines))


def failure_reply(subject: str) -> Reply:
    return Reply(
        f"Sorry, something went wrong while running *{subject}*. "
        "It has been noted; please try again in a moment."
    )


def refused_reply(subject: str, what: str) -> Reply:
    return Reply(f"Sorry, *{subject}* could not do that: {what}")


def deferral_refused_reply(subject: str, why: str) -> Reply:
    return Reply(f"Sorry, *{subject}* could not start its background work: {why}")


def overrun_reply(subject: str) -> Reply:
    return Reply(f"Sorry, *{subject}* is taking too long to answer. Please try again in a moment.")


def in_progress_reply() -> Reply:
    return Reply("I'm still working on that request; please give me a moment.")
