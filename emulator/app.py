"""The emulator's ASGI application: routes, error answers, the guard in front of them
(``emulator.guard``) and the lifetime of the scheduler and of the state.

``create_app(config)`` is importable for in-process use; ``emulator.server.serve`` runs it.
When the application stops, the state is written to ``config.export_path`` if one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator import control, timeline_views
from emulator import state_views as views
from emulator.access import platform_endpoint
from emulator.api.activity import create_activity, list_activity
from emulator.api.event_subscription import register_hook, unregister_hook
from emulator.api.exchange_tokens import fetch_exchange_token
from emulator.api.messages import send_message
from emulator.api.scheduling import (
    create_schedule,
    delete_schedule,
    read_schedule,
    update_schedule,
)
from emulator.api.storage import storage_operation
from emulator.config import EmulatorConfig
from emulator.guard import LocalOnly
from emulator.openapi import openapi_document
from emulator.playground_page import playground_routes
from emulator.scheduler import run_real_clock
from emulator.state import EmulatorState, build_state, export_state
from emulator.state_file import write_document
from emulator.stream import stream

MAX_BODY_BYTES = 1024 * 1024

logger = logging.getLogger("emulator.app")


def _platform_routes() -> list[BaseRoute]:
    schedule = "/v1/platform/scheduling/{schedule_uuid}/"
    return [
        Route(
            "/v1/auth/fetch-command-exchange-token/",
            platform_endpoint(fetch_exchange_token),
            methods=["POST"],
        ),
        Route("/v1/platform/scheduling/", platform_endpoint(create_schedule), methods=["POST"]),
        Route(schedule, platform_endpoint(read_schedule), methods=["GET"]),
        Route(schedule, platform_endpoint(update_schedule), methods=["PUT"]),
        Route(schedule, platform_endpoint(delete_schedule), methods=["DELETE"]),
        Route("/v1/platform/storage/", platform_endpoint(storage_operation), methods=["POST"]),
        Route(
            "/v1/platform/event-subscription/", platform_endpoint(register_hook), methods=["POST"]
        ),
        Route(
            "/v1/platform/event-subscription/",
            platform_endpoint(unregister_hook),
            methods=["DELETE"],
        ),
        Route("/v1/platform/activity/", platform_endpoint(list_activity), methods=["GET"]),
        Route("/v1/platform/activity/", platform_endpoint(create_activity), methods=["POST"]),
        Route("/v1/send-message/", platform_endpoint(send_message), methods=["POST"]),
    ]


def _control_routes() -> list[BaseRoute]:
    c = control
    endpoint = c.control_endpoint
    return [
        Route("/_emulator/health", endpoint(c.health), methods=["GET"]),
        Route("/_emulator/invoke", endpoint(c.invoke_command), methods=["POST"]),
        Route("/_emulator/clock", endpoint(c.read_clock), methods=["GET"]),
        Route("/_emulator/clock/advance", endpoint(c.advance_clock), methods=["POST"]),
        Route("/_emulator/events", endpoint(c.publish), methods=["POST"]),
        Route("/_emulator/faults", endpoint(c.list_faults), methods=["GET"]),
        Route("/_emulator/faults", endpoint(c.add_fault), methods=["POST"]),
        Route("/_emulator/faults", endpoint(c.clear_faults), methods=["DELETE"]),
        Route("/_emulator/deliveries", endpoint(c.list_deliveries), methods=["GET"]),
        Route("/_emulator/deliveries", endpoint(c.clear_deliveries), methods=["DELETE"]),
        Route("/_emulator/messages", endpoint(c.list_messages), methods=["GET"]),
        Route("/_emulator/messages", endpoint(c.clear_messages), methods=["DELETE"]),
        Route("/_emulator/world", endpoint(views.world), methods=["GET"]),
        Route("/_emulator/storage", endpoint(views.storage), methods=["GET"]),
        Route("/_emulator/activity", endpoint(views.activity), methods=["GET"]),
        Route("/_emulator/schedules", endpoint(views.schedules), methods=["GET"]),
        Route(
            "/_emulator/schedules/{schedule_uuid}/fire",
            endpoint(c.fire_schedule_now),
            methods=["POST"],
        ),
        Route("/_emulator/hooks", endpoint(views.hooks), methods=["GET"]),
        Route("/_emulator/reset", endpoint(c.reset), methods=["POST"]),
        *_live_routes(),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]


def _live_routes() -> list[BaseRoute]:
    """What the playground follows: the change stream, the timeline, the inspector."""
    endpoint = control.control_endpoint
    t = timeline_views
    return [
        Route("/_emulator/stream", endpoint(stream), methods=["GET"]),
        Route("/_emulator/timeline", endpoint(t.read_timeline), methods=["GET"]),
        Route("/_emulator/timeline/{item_id}", endpoint(t.read_item), methods=["GET"]),
        Route("/_emulator/inspector", endpoint(t.read_inspector), methods=["GET"]),
        Route(
            "/_emulator/deliveries/{delivery_id}/replay",
            endpoint(t.replay_delivery),
            methods=["POST"],
        ),
        Route("/_emulator/users", endpoint(t.new_user), methods=["POST"]),
        Route("/_emulator/storage/entries", endpoint(views.storage_entries), methods=["GET"]),
        Route("/_emulator/storage/value", endpoint(views.storage_value), methods=["GET"]),
        Route("/_emulator/event-examples", endpoint(views.event_examples), methods=["GET"]),
        Route("/_emulator/state", endpoint(views.whole_state), methods=["GET"]),
    ]


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"detail": "Not found.", "code": "not_found"}
    elif exc.status_code == 405:
        body = {"detail": f'Method "{request.method}" not allowed.', "code": "method_not_allowed"}
    else:
        body = {"detail": str(exc.detail), "code": "http_error"}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return JSONResponse({"detail": "Internal error.", "code": "server_error"}, status_code=500)


def create_app(config: EmulatorConfig, *, state: EmulatorState | None = None) -> Starlette:
    """Build the emulator; an invalid fixtures file raises ``FixtureError`` here."""
    state = state if state is not None else build_state(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop_task = None if state.clock.is_virtual else asyncio.create_task(run_real_clock(state))
        try:
            yield
        finally:
            state.feed.close()
            if loop_task is not None:
                loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task
            await state.dispatcher.aclose()
            stop(state)

    app = Starlette(
        routes=[*_platform_routes(), *_control_routes(), *playground_routes()],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
        middleware=[Middleware(LocalOnly, port=config.port, extra_hosts=config.allowed_hosts)],
    )
    app.state.emulator = state
    return app


def stop(state: EmulatorState) -> None:
    """Write the state out (``--export-on-exit``) and close the database, once."""
    if state.stopped:
        return
    state.stopped = True
    state.feed.close()
    path = state.config.export_path
    if path is not None:
        try:
            write_document(export_state(state), path)
            logger.info("state written to %s", path)
        except OSError as exc:
            logger.error("could not write the state to %s: %s", path, exc.strerror or exc)
    state.database.close()
