"""``/v1/platform/scheduling/``: create, read, update and delete scheduled executions."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller
from emulator.errors import coded, invalid, not_found
from emulator.schedules import (
    ORGANIZATION_TIMEZONE,
    TIMEZONE_TYPES,
    Schedule,
    check_callback_url,
    check_cron,
    check_timing,
    load_schedule,
    next_fire_after,
)
from emulator.state import EmulatorState
from emulator.state_views import announce_schedule
from emulator.validation import (
    MISSING,
    boolean,
    integer,
    json_object,
    json_object_field,
    text,
    uuid_text,
)
from emulator.world import Command

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_FREQUENCY_MINUTES = 366 * 24 * 60
TIMING_FIELDS = ("cron", "execution_frequency", "timezone_type", "is_active", "repeats")


async def create_schedule(request: Request, state: EmulatorState, caller: Caller) -> Response:
    body = await json_object(request)
    command, organization_uuid = _command_for_create(state, caller, body)
    fields = _checked_fields(body, creating=True)
    cron = fields.get("cron")
    frequency = fields.get("execution_frequency", 0)
    check_timing(cron, frequency)
    schedule = Schedule(
        uuid=str(uuid.uuid4()),
        command_uuid=command.uuid,
        organization_uuid=organization_uuid,
        user_uuid=caller.grant.user_uuid if caller.grant else None,
        name=fields["name"],
        timezone_type=fields.get("timezone_type", ORGANIZATION_TIMEZONE),
        is_active=True,
        cron=cron,
        execution_frequency=frequency,
        repeats=fields.get("repeats", -1),
        payload=fields.get("payload", {}),
        callback_url=fields.get("callback_url"),
        is_owned_by_user=fields.get("is_owned_by_user", True),
        executions=0,
        next_fire_at=None,
        created_at=state.clock.now(),
    )
    schedule.next_fire_at = next_fire_after(schedule, state.clock.now(), state.world)
    schedule.save(state.database)
    announce_schedule(state, schedule)
    return JSONResponse({"uuid": schedule.uuid})


async def read_schedule(request: Request, state: EmulatorState, caller: Caller) -> Response:
    schedule = _owned_schedule(request, state, caller)
    return JSONResponse(schedule.view(state.world.commands[schedule.command_uuid].url))


async def update_schedule(request: Request, state: EmulatorState, caller: Caller) -> Response:
    schedule = _owned_schedule(request, state, caller)
    body = await json_object(request, optional=True)
    fields = _checked_fields(body, creating=False)
    for name, value in fields.items():
        setattr(schedule, name, value)
    check_timing(schedule.cron, schedule.execution_frequency)
    if any(name in fields for name in TIMING_FIELDS):
        # Changing repeats or switching a schedule back on starts its count of runs afresh.
        if "repeats" in fields or fields.get("is_active") is True:
            schedule.executions = 0
        schedule.next_fire_at = next_fire_after(schedule, state.clock.now(), state.world)
    schedule.save(state.database)
    announce_schedule(state, schedule)
    return JSONResponse(schedule.view(state.world.commands[schedule.command_uuid].url))


async def delete_schedule(request: Request, state: EmulatorState, caller: Caller) -> Response:
    schedule = _owned_schedule(request, state, caller)
    state.database.execute("DELETE FROM schedules WHERE uuid = ?", (schedule.uuid,))
    state.announcer.value("schedule_removed", {"uuid": schedule.uuid})
    return Response(status_code=204)


def _owned_schedule(request: Request, state: EmulatorState, caller: Caller) -> Schedule:
    grant = caller.require_grant()
    schedule_uuid = uuid_text(request.path_params.get("schedule_uuid"))
    schedule = load_schedule(state.database, schedule_uuid) if schedule_uuid else None
    if schedule is None or schedule.command_uuid != grant.command_uuid:
        raise not_found()
    return schedule


def _command_for_create(
    state: EmulatorState, caller: Caller, body: dict[str, Any]
) -> tuple[Command, str]:
    requested = body.get("command_uuid")
    if requested is not None:
        command = state.world.commands.get(uuid_text(requested) or "")
        if command is None or command.organization_uuid != caller.key.organization_uuid:
            raise coded(
                400,
                "Command is not valid. It must be owned by the same API Key organization owner",
                "invalid_command_specified",
            )
        return command, command.organization_uuid
    if caller.grant is None:
        raise coded(
            400, "You should specify an exchange token or valid command", "missing_token_or_command"
        )
    return state.world.commands[caller.grant.command_uuid], caller.grant.organization_uuid


def _checked_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The schedule fields present in ``body``, validated (absent ones are left out)."""
    fields: dict[str, Any] = {
        "name": text(body, "name", required=creating),
        "cron": text(body, "cron", nullable=True),
        "execution_frequency": integer(
            body, "execution_frequency", minimum=0, maximum=MAX_FREQUENCY_MINUTES
        ),
        "repeats": integer(body, "repeats", minimum=-1),
        "payload": json_object_field(body, "payload"),
        "timezone_type": text(body, "timezone_type"),
        "is_active": boolean(body, "is_active") if not creating else MISSING,
        "is_owned_by_user": boolean(body, "is_owned_by_user") if creating else MISSING,
    }
    if "callback_url" in body:
        fields["callback_url"] = check_callback_url(body["callback_url"])
    present = {name: value for name, value in fields.items() if value is not MISSING}
    if present.get("cron") is not None:
        check_cron(present["cron"])
    if present.get("repeats") == 0:
        raise invalid("'repeats' must be -1 (forever) or a positive number of runs.")
    if "timezone_type" in present and present["timezone_type"] not in TIMEZONE_TYPES:
        raise invalid(f"'timezone_type' must be one of {', '.join(TIMEZONE_TYPES)}.")
    payload = present.get("payload")
    if payload is not None and len(json.dumps(payload)) > MAX_PAYLOAD_BYTES:
        raise invalid("'payload' must be at most 64 KiB of JSON.")
    return present
