"""``/_emulator/...``: the emulator's own control surface, for tests and for people.

Health, invoking a command, the virtual clock, firing a schedule now, publishing events,
injecting faults, resetting the state, and the records of outbound deliveries and sent messages.
No API key is needed here; the read-only views of the state are in ``emulator.state_views``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from emulator.access import caller_gone, error_response
from emulator.clock import VirtualClock
from emulator.command_calls import Invocation, fire_schedule, invoke, publish_event
from emulator.deliveries import recorded_deliveries
from emulator.errors import ApiError, coded, invalid, not_found
from emulator.event_names import normalise_event
from emulator.faults import parse_fault
from emulator.scheduler import fire_due
from emulator.schedules import load_schedule
from emulator.sent_messages import recorded_messages
from emulator.state import EmulatorState, state_of
from emulator.timeline_views import outcome_answer
from emulator.timestamps import iso_z
from emulator.validation import (
    MISSING,
    boolean,
    json_object,
    json_object_field,
    query_limit,
    text,
    uuid_text,
)

MAX_ADVANCE_SECONDS = 366 * 24 * 3600
MAX_QUERY_LENGTH = 4000

ControlHandler = Callable[[Request, EmulatorState], Awaitable[Response]]


def control_endpoint(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, state_of(request))
        except ApiError as error:
            return error_response(error)
        except ClientDisconnect:
            return caller_gone(request)

    endpoint.__name__ = handler.__name__
    return endpoint


async def health(request: Request, state: EmulatorState) -> Response:
    return JSONResponse({"status": "ok"})


async def invoke_command(request: Request, state: EmulatorState) -> Response:
    body = await json_object(request)
    intent = text(body, "intent", required=True)
    query = body.get("query", "")
    if not isinstance(query, str) or len(query) > MAX_QUERY_LENGTH:
        raise invalid(f"'query' must be a string of at most {MAX_QUERY_LENGTH} characters.")
    invocation = Invocation(
        intent=intent.strip(),
        query=query,
        user_uuid=_optional_uuid(body, "user_uuid"),
        organization_uuid=_optional_uuid(body, "organization_uuid"),
    )
    started = time.perf_counter()
    outcome = await invoke(state, invocation)
    return JSONResponse(outcome_answer(outcome, started))


async def fire_schedule_now(request: Request, state: EmulatorState) -> Response:
    """Deliver one scheduled execution at the clock's now; its timing and run count stay."""
    schedule_uuid = uuid_text(request.path_params["schedule_uuid"])
    schedule = None if schedule_uuid is None else load_schedule(state.database, schedule_uuid)
    if schedule is None:
        raise not_found()
    started = time.perf_counter()
    outcome = await fire_schedule(state, schedule, state.stamps.next(state.clock.now()))
    if outcome is None:
        raise coded(409, "The schedule has no command or user to act as.", "cannot_fire")
    return JSONResponse(outcome_answer(outcome, started))


RESET_TABLES = (
    "schedules",
    "storage",
    "activity",
    "hooks",
    "deliveries",
    "runs",
    "occurrences",
    "messages",
    "api_calls",
)


async def reset(request: Request, state: EmulatorState) -> Response:
    """Forget schedules, storage, activity, hooks, deliveries (and the timeline), messages,
    platform calls and pending faults.

    The world (fixtures and users added since), the clock and issued exchange tokens stay.
    """
    state.database.keep_seq()
    for table in RESET_TABLES:
        # Table names are the constants above, never input.
        state.database.execute(f"DELETE FROM {table}")  # noqa: S608
    state.dispatcher.sent.clear()
    state.faults.clear()
    state.announcer.value("reset", {})
    return Response(status_code=204)


async def read_clock(request: Request, state: EmulatorState) -> Response:
    return JSONResponse({"now": iso_z(state.clock.now()), "clock": _mode(state)})


async def advance_clock(request: Request, state: EmulatorState) -> Response:
    if not isinstance(state.clock, VirtualClock):
        raise coded(409, "The clock is real: start with --clock virtual.", "clock_not_virtual")
    body = await json_object(request)
    seconds = body.get("seconds")
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not 0 <= seconds <= MAX_ADVANCE_SECONDS
    ):
        raise invalid(f"'seconds' must be a number between 0 and {MAX_ADVANCE_SECONDS}.")
    fired = await fire_due(state, state.clock.now() + seconds)
    return JSONResponse({"now": iso_z(state.clock.now()), "fired": fired})


async def publish(request: Request, state: EmulatorState) -> Response:
    body = await json_object(request)
    organization_uuid = _optional_uuid(body, "organization_uuid")
    if organization_uuid is None or organization_uuid not in state.world.organizations:
        raise invalid("'organization_uuid' must be a known organization.")
    name = text(body, "event", required=True)
    event = normalise_event(name)
    if event is None:
        raise invalid(f"Unknown event {name!r}.")
    payload = json_object_field(body, "body")
    subscribed_object = text(body, "subscribed_object", nullable=True)
    with_results = boolean(body, "results") is True
    published = await publish_event(
        state,
        organization_uuid,
        event,
        {} if payload is MISSING else payload,
        None if subscribed_object is MISSING else subscribed_object,
    )
    results = [
        {
            "command_uuid": command.uuid,
            "intent": command.intent,
            "delivery_id": outcome.delivery_id,
            "status_code": outcome.status_code,
            "reply": outcome.reply(),
            **({"error": outcome.error} if outcome.error is not None else {}),
        }
        for command, outcome in published.outcomes
    ]
    if not with_results:
        return JSONResponse({"deliveries": len(results)})
    return JSONResponse(
        {
            "deliveries": len(results),
            "event": event,
            "occurrence": f"occurrence:{published.occurrence_id}",
            "results": results,
        }
    )


async def add_fault(request: Request, state: EmulatorState) -> Response:
    fault = parse_fault(await json_object(request))
    state.faults.add(fault)
    return JSONResponse(fault.describe(), status_code=201)


async def list_faults(request: Request, state: EmulatorState) -> Response:
    return JSONResponse(state.faults.pending())


async def clear_faults(request: Request, state: EmulatorState) -> Response:
    state.faults.clear()
    return Response(status_code=204)


async def list_deliveries(request: Request, state: EmulatorState) -> Response:
    """Every attempt, oldest first; ``?delivery_id=`` the attempts of one delivery."""
    return JSONResponse(
        recorded_deliveries(state.database, request.query_params.get("delivery_id") or None)
    )


async def clear_deliveries(request: Request, state: EmulatorState) -> Response:
    state.database.keep_seq()
    state.database.execute("DELETE FROM deliveries")
    state.database.execute("DELETE FROM runs")
    state.database.execute("DELETE FROM occurrences")
    state.dispatcher.sent.clear()
    state.announcer.value("reset", {})
    return Response(status_code=204)


async def list_messages(request: Request, state: EmulatorState) -> Response:
    """Every message, oldest first; ``?limit=N`` the newest N (still oldest first)."""
    return JSONResponse(recorded_messages(state.database, query_limit(request)))


async def clear_messages(request: Request, state: EmulatorState) -> Response:
    state.database.keep_seq()
    state.database.execute("DELETE FROM messages")
    state.announcer.value("reset", {})
    return Response(status_code=204)


def _mode(state: EmulatorState) -> str:
    return "virtual" if state.clock.is_virtual else "real"


def _optional_uuid(body: dict[str, Any], name: str) -> str | None:
    if body.get(name) is None:
        return None
    value = uuid_text(body[name])
    if value is None:
        raise invalid(f"'{name}' must be a UUID.")
    return value
