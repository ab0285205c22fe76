"""Where a job's result goes: the channel the command was typed in, else the user.

A job's return value (a `str`, a `Reply` with buttons or image, or None for nothing) becomes
one `POST /v1/send-message/`; a job out of attempts gets one failure message.
"""

from __future__ import annotations

from chalicelib.dailybot.models import OutgoingMessage
from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.replies import Reply


def follow_up(reply: Reply, delivery: Delivery) -> OutgoingMessage | None:
    """The message carrying `reply` to where `delivery` came from; None when it names nowhere
    (an event names no user and no channel)."""
    if delivery.target_channel:
        targets = {"target_channels": (delivery.target_channel,)}
    elif delivery.user_uuid:
        targets = {"target_users": (delivery.user_uuid,)}
    else:
        return None
    return OutgoingMessage(
        message=reply.message,
        buttons=tuple(reply.buttons),
        image_url=reply.image_url,
        **targets,
    )


def job_failure_reply(delivery: Delivery, error: BaseException) -> Reply:
    what = f"*{delivery.subject}*" if delivery.subject else "your request"
    if isinstance(error, InvalidDeferral):
        return Reply(f"Sorry, the work for {what} could not go on: {error}")
    return Reply(
        f"Sorry, I couldn't finish the work for {what} after several tries. "
        "It has been noted; please try again later."
    )
