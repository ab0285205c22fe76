"""Dailybot's side: calling commands as a user typing them, as an event, or as a schedule firing.

Each call mints a fresh exchange token for the user it acts as and goes through the dispatcher,
which redelivers the identical body on failure. An event published is recorded as an
occurrence with the deliveries it caused; a command typed that no command could take is
recorded too, so both have their place in the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.api.event_subscription import matching_hooks
from emulator.deliveries import DeliveryOutcome
from emulator.errors import ApiError, invalid
from emulator.occurrences import EVENT, REFUSED, record_occurrence, set_outcome
from emulator.outbound_bodies import event_body, invocation_body, scheduled_body
from emulator.runs import Outbound
from emulator.schedules import Schedule, owner_of
from emulator.state import EmulatorState
from emulator.tokens import TokenGrant
from emulator.world import Command, User


@dataclass(frozen=True)
class Invocation:
    intent: str
    query: str
    user_uuid: str | None = None
    organization_uuid: str | None = None


def find_command(state: EmulatorState, invocation: Invocation) -> Command:
    """The command that answers the intent in the organization: one of its own, else a public
    command of another organization (which its users may use)."""
    commands = state.world.commands_for_intent(invocation.intent)
    if invocation.organization_uuid is not None:
        own = [c for c in commands if c.organization_uuid == invocation.organization_uuid]
        commands = own or [c for c in commands if c.is_public]
    if not commands:
        known = ", ".join(state.world.intents_of(invocation.organization_uuid)) or "none"
        detail = f"No command answers the intent {invocation.intent!r}. Known intents: {known}."
        raise ApiError(
            404,
            {
                "detail": detail,
                "code": "unknown_intent",
                "known_intents": state.world.intents_of(invocation.organization_uuid),
            },
        )
    if len(commands) > 1:
        raise invalid("Several organizations have this intent: give 'organization_uuid'.")
    return commands[0]


def invoking_user(state: EmulatorState, command: Command, user_uuid: str | None) -> User:
    if user_uuid is None:
        members = state.world.users_of(command.organization_uuid)
        if not members:
            raise invalid("The command's organization has no users.")
        return members[0]
    user = state.world.users.get(user_uuid)
    if user is None:
        raise invalid("'user_uuid' is not a known user.")
    if user.organization_uuid != command.organization_uuid and not command.is_public:
        raise invalid("'user_uuid' belongs to another organization and the command is private.")
    return user


async def invoke(state: EmulatorState, invocation: Invocation) -> DeliveryOutcome:
    """Deliver an invocation; a refusal (unknown intent, wrong user) is recorded, then raised."""
    try:
        command = find_command(state, invocation)
        user = invoking_user(state, command, invocation.user_uuid)
    except ApiError as error:
        _record_refusal(state, invocation, error)
        raise
    token = state.tokens.issue(TokenGrant(user.organization_uuid, command.uuid, user.uuid))
    instant = state.stamps.next(state.clock.now())
    body = invocation_body(
        command, invocation.intent, invocation.query, user, token=token, instant=instant
    )
    return await state.dispatcher.deliver(
        Outbound(
            "invocation",
            invocation.intent,
            command.url,
            command.signature,
            body,
            acts_as=user.uuid,
        )
    )


def _record_refusal(state: EmulatorState, invocation: Invocation, error: ApiError) -> None:
    user = state.world.users.get(invocation.user_uuid or "")
    organization = invocation.organization_uuid or (user.organization_uuid if user else None)
    occurrence_id = record_occurrence(
        state.database,
        REFUSED,
        organization_uuid=organization,
        user_uuid=invocation.user_uuid,
        subject=invocation.intent,
        body={"query": invocation.query},
        at=state.clock.now(),
        outcome={
            "status": error.status,
            "code": error.body.get("code"),
            "detail": error.body.get("detail") or error.body.get("details"),
        },
    )
    state.announcer.occurrence(occurrence_id)
    # The refusal names its place in the timeline, where the playground shows it.
    error.body["occurrence"] = f"occurrence:{occurrence_id}"


@dataclass(frozen=True)
class Published:
    """An event published: its occurrence and what each hook's command answered."""

    occurrence_id: int
    outcomes: list[tuple[Command, DeliveryOutcome]]


async def publish_event(
    state: EmulatorState,
    organization_uuid: str,
    event: str,
    body: dict[str, Any],
    subscribed_object: str | None,
) -> Published:
    """Deliver ``event`` to every matching hook, recording the event and what it caused."""
    occurrence_id = record_occurrence(
        state.database,
        EVENT,
        organization_uuid=organization_uuid,
        user_uuid=None,
        subject=event,
        body=body,
        at=state.clock.now(),
        outcome={"hooks": None, "subscribed_object": subscribed_object},
    )
    state.announcer.occurrence(occurrence_id)
    outcomes = []
    for hook in matching_hooks(state.database, organization_uuid, event, subscribed_object):
        command = state.world.commands.get(hook["command_uuid"])
        if command is None:
            continue
        token = state.tokens.issue(TokenGrant(organization_uuid, command.uuid, hook["user_uuid"]))
        instant = state.stamps.next(state.clock.now())
        envelope = event_body(
            event,
            organization_uuid,
            command,
            hook_uuid=int(hook["uuid"]),
            token=token,
            body=body,
            instant=instant,
        )
        outbound = Outbound(
            "event",
            event,
            command.url,
            command.signature,
            envelope,
            occurrence_id=occurrence_id,
            acts_as=hook["user_uuid"],
        )
        outcomes.append((command, await state.dispatcher.deliver(outbound)))
    outcome = {"hooks": len(outcomes), "subscribed_object": subscribed_object}
    set_outcome(state.database, occurrence_id, outcome)
    state.announcer.occurrence(occurrence_id)
    return Published(occurrence_id, outcomes)


async def fire_schedule(
    state: EmulatorState, schedule: Schedule, fire_at: float
) -> DeliveryOutcome | None:
    """Deliver one scheduled execution; ``None`` when it has no command or user to act as."""
    command = state.world.commands.get(schedule.command_uuid)
    user = owner_of(schedule, state.world)
    if command is None or user is None:
        return None
    token = state.tokens.issue(TokenGrant(schedule.organization_uuid, command.uuid, user.uuid))
    body = scheduled_body(
        command,
        user,
        token,
        fire_at,
        schedule.view(command.url),
        owned_by_user=schedule.is_owned_by_user,
    )
    url = schedule.callback_url or command.url
    return await state.dispatcher.deliver(
        Outbound(
            "scheduled_execution",
            schedule.name,
            url,
            command.signature,
            body,
            acts_as=user.uuid,
        )
    )
