"""The control endpoints behind the playground's timeline, inspector and conversations.

``GET /_emulator/timeline`` (a conversation's items), ``GET /_emulator/timeline/{item_id}``,
``GET /_emulator/inspector`` (deliveries and platform calls, filtered), ``POST
/_emulator/deliveries/{delivery_id}/replay`` (as it was, or edited) and ``POST /_emulator/users``
(start as a new user).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.added_users import add_user
from emulator.errors import invalid, not_found
from emulator.inspector import DEFAULT_ROWS, MAX_ROWS, inspector_rows
from emulator.replay import MODES, replay
from emulator.state import EmulatorState
from emulator.timeline import DEFAULT_ITEMS, item_by_id, timeline
from emulator.validation import MISSING, json_object, json_object_field, text, uuid_text

MAX_ITEMS = 1000


def _number(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= maximum:
        raise invalid(f"'{name}' must be a whole number from 0 to {maximum}.")
    return int(raw)


def _uuid_parameter(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = uuid_text(raw)
    if value is None:
        raise invalid(f"'{name}' must be a UUID.")
    return value


async def read_timeline(request: Request, state: EmulatorState) -> Response:
    """The items a user of an organization sees (everyone's without them), oldest first."""
    before = _number(request, "before", 0, 2**62)
    items, earlier = timeline(
        state.database,
        organization_uuid=_uuid_parameter(request, "organization_uuid"),
        user_uuid=_uuid_parameter(request, "user_uuid"),
        after=_number(request, "after", 0, 2**62),
        before=before or None,
        limit=max(1, _number(request, "limit", DEFAULT_ITEMS, MAX_ITEMS)),
    )
    return JSONResponse(
        {
            "items": items,
            "earlier": earlier,
            "seq": state.database.last_seq,
            "timeline_id": state.database.timeline_id,
        }
    )


async def read_item(request: Request, state: EmulatorState) -> Response:
    item = item_by_id(state.database, request.path_params["item_id"])
    if item is None:
        raise not_found()
    return JSONResponse(item)


async def read_inspector(request: Request, state: EmulatorState) -> Response:
    filters = {
        name: request.query_params.get(name, "") for name in ("kind", "subject", "status", "before")
    }
    organization = _uuid_parameter(request, "organization_uuid")
    if organization is not None:
        filters["organization_uuid"] = organization
    limit = max(1, _number(request, "limit", DEFAULT_ROWS, MAX_ROWS))
    return JSONResponse({"rows": inspector_rows(state.database, filters, limit)})


async def replay_delivery(request: Request, state: EmulatorState) -> Response:
    body = await json_object(request)
    mode = body.get("mode")
    if mode not in MODES:
        raise invalid(f"'mode' must be one of {', '.join(MODES)}.")
    edited = json_object_field(body, "body", nullable=True)
    started = time.perf_counter()
    outcome = await replay(
        state,
        request.path_params["delivery_id"],
        mode,
        None if edited in (MISSING, None) else edited,
    )
    return JSONResponse(outcome_answer(outcome, started))


def outcome_answer(outcome: Any, started: float) -> dict[str, Any]:
    """What a control call that made a delivery answers: the command's reply and the run."""
    answer: dict[str, Any] = {
        "status_code": outcome.status_code,
        "reply": outcome.reply(),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
        "delivery_id": outcome.delivery_id,
        "correlation_id": outcome.correlation_id,
    }
    if outcome.error is not None:
        answer["error"] = outcome.error
    return answer


async def new_user(request: Request, state: EmulatorState) -> Response:
    """A user the command has never met, in an organization of the fixtures."""
    body = await json_object(request)
    organization = uuid_text(body.get("organization_uuid"))
    if organization is None or organization not in state.world.organizations:
        raise invalid("'organization_uuid' must be a known organization.")
    name = text(body, "full_name", nullable=True, max_length=100)
    user = add_user(
        state.world, state.database, organization, None if name in (MISSING, None) else name
    )
    view = {
        "uuid": user.uuid,
        "organization_uuid": user.organization_uuid,
        "full_name": user.full_name,
        "timezone": user.timezone,
        "added": True,
    }
    state.announcer.value("user", view)
    return JSONResponse(view, status_code=201)
