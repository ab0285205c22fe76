"""Everything one running emulator holds, built once from its configuration."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from starlette.requests import Request

from emulator.added_users import with_added_users
from emulator.announcer import Announcer
from emulator.change_feed import ChangeFeed
from emulator.clock import RealClock, VirtualClock
from emulator.config import EmulatorConfig
from emulator.database import Database
from emulator.deliveries import Dispatcher
from emulator.faults import FaultBoard
from emulator.outbound_bodies import EventStamps
from emulator.rate_limit import RateLimiter
from emulator.state_file import StateFileError, export_document, import_document, read_document
from emulator.tokens import ExchangeTokens
from emulator.world import World, load_world


@dataclass
class EmulatorState:
    config: EmulatorConfig
    world: World
    database: Database
    clock: RealClock | VirtualClock
    tokens: ExchangeTokens
    dispatcher: Dispatcher
    feed: ChangeFeed
    announcer: Announcer
    faults: FaultBoard = field(default_factory=FaultBoard)
    stamps: EventStamps = field(default_factory=EventStamps)
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    # Firing schedules moves the virtual clock: one firing pass at a time.
    fire_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stopped: bool = False  # the state was written out and the database closed


def build_state(
    config: EmulatorConfig,
    world: World | None = None,
    *,
    delivery_transport: httpx.AsyncBaseTransport | None = None,
) -> EmulatorState:
    """The state for ``config``; ``delivery_transport`` carries deliveries instead of HTTP."""
    world = world if world is not None else load_world(config.fixtures)
    database = Database(config.db)
    imported_faults = []
    if config.import_path is not None:
        try:
            imported_faults = import_document(database, read_document(config.import_path))
        except StateFileError:
            database.close()
            raise
    world = with_added_users(world, database)
    clock: RealClock | VirtualClock = (
        VirtualClock(database) if config.clock == "virtual" else RealClock()
    )
    feed = ChangeFeed()
    announcer = Announcer(database, feed)
    dispatcher = Dispatcher(database, clock, config, transport=delivery_transport)
    dispatcher.on_change = announcer.run
    state = EmulatorState(
        config=config,
        world=world,
        database=database,
        clock=clock,
        tokens=ExchangeTokens(database, clock, config.token_ttl),
        dispatcher=dispatcher,
        feed=feed,
        announcer=announcer,
        rate_limiter=RateLimiter(config.rate_limit),
    )
    for fault in imported_faults:
        state.faults.add(fault)
    state.faults.on_change = lambda: announcer.views("faults", state.faults.pending)
    return state


def export_state(state: EmulatorState) -> dict[str, Any]:
    """The whole state as a document ``--import`` reads back (``emulator.state_file``)."""
    mode = "virtual" if state.clock.is_virtual else "real"
    return export_document(state.database, mode, state.clock.now(), state.faults.pending())


def state_of(request: Request) -> EmulatorState:
    return cast(EmulatorState, request.app.state.emulator)
