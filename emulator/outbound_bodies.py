"""The JSON bodies Dailybot sends to a command: invocation, event callback, scheduled execution.

Shapes are fixed by ``docs/dailybot-contract.md`` (what Dailybot sends).
"""

from __future__ import annotations

from typing import Any

from emulator.timestamps import iso_z
from emulator.world import Command, User


class EventStamps:
    """Hands out strictly increasing instants for invocations and events.

    Under the virtual clock time stands still, and two invocations typing the same text would
    otherwise have identical bodies (apart from the token) and look like one redelivered call.
    """

    def __init__(self) -> None:
        self._last = 0.0

    def next(self, now: float) -> float:
        self._last = max(now, round(self._last + 0.000001, 6))
        return self._last


def user_context(user: User) -> dict[str, str]:
    return {"uuid": user.uuid, "full_name": user.full_name, "timezone": user.timezone}


def invocation_body(
    command: Command, intent: str, query: str, user: User, *, token: str, instant: float
) -> dict[str, Any]:
    return {
        "intent": intent,
        "query": query,
        "event_timestamp": iso_z(instant),
        # The user's organization: a public command is used from other organizations too,
        # and acts there (its storage, its schedules) with their users' tokens.
        "organization_uuid": user.organization_uuid,
        "user_uuid": user.uuid,
        "user_full_name": user.full_name,
        "command_uuid": command.uuid,
        "exchange_token": token,
        "user_context": user_context(user),
    }


def event_body(
    event: str,
    organization_uuid: str,
    command: Command,
    *,
    hook_uuid: int,
    token: str,
    body: dict[str, Any],
    instant: float,
) -> dict[str, Any]:
    return {
        "event": event,
        "event_timestamp": iso_z(instant),
        "organization_uuid": organization_uuid,
        "command_uuid": command.uuid,
        "exchange_token": token,
        "hook": {"uuid": hook_uuid},
        "body": body,
    }


def scheduled_body(
    command: Command,
    user: User,
    token: str,
    fire_at: float,
    schedule: dict[str, Any],
    *,
    owned_by_user: bool,
) -> dict[str, Any]:
    """A command invocation plus ``scheduled_execution``.

    It names the owner (``user_uuid``, ``user_full_name``, ``user_context``) only when the
    execution is owned by a user; either way the exchange token acts as its creator.
    """
    body = invocation_body(command, command.intent, "", user, token=token, instant=fire_at)
    if not owned_by_user:
        for name in ("user_uuid", "user_full_name", "user_context"):
            del body[name]
    body["scheduled_execution"] = {
        "uuid": schedule["uuid"],
        "name": schedule["name"],
        "payload": schedule["payload"],
    }
    return body
