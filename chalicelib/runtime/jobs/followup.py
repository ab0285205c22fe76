"""Where a job's result goes: the channel the command was typed in, else the user.

A job's return value (a `str`, a `Reply` with buttons or image, or None for nothing) becomes
one `POST /v1/send-message/`; a job out of attempts gets one friendly failure message.
"""

from __future__ import annotations

from chalicelib.dailybot.models import OutgoingMessage
from chalicelib.runtime.jobs.message import Origin
from chalicelib.runtime.replies import Reply


def follow_up(reply: Reply, origin: Origin) -> OutgoingMessage | None:
    """The message carrying `reply` to where `origin` was used; None when it names nowhere."""
    if origin.target_channel:
        targets = {"target_channels": (origin.target_channel,)}
    elif origin.user_uuid:
        targets = {"target_users": (origin.user_uuid,)}
    else:
        return None
    return OutgoingMessage(
        message=reply.message,
        buttons=tuple(reply.buttons),
        image_url=reply.image_url,
        **targets,
    )


def job_failure_reply(origin: Origin) -> Reply:
    what = f"*{origin.subject}*" if origin.subject else "your request"
    return Reply(
        f"Sorry, I couldn't finish the work for {what} after several tries. "
        "It has been noted; please try again later."
    )
