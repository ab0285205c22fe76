"""Everything one running emulator holds, built once from its configuration."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

import httpx
from starlette.requests import Request

from emulator.clock import RealClock, VirtualClock
from emulator.config import EmulatorConfig
from emulator.database import Database
from emulator.deliveries import Dispatcher
from emulator.faults import FaultBoard
from emulator.outbound_bodies import EventStamps
from emulator.rate_limit import RateLimiter
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
    faults: FaultBoard = field(default_factory=FaultBoard)
    stamps: EventStamps = field(default_factory=EventStamps)
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    # Firing schedules moves the virtual clock: one firing pass at a time.
    fire_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def build_state(
    config: EmulatorConfig,
    world: World | None = None,
    *,
    delivery_transport: httpx.AsyncBaseTransport | None = None,
) -> EmulatorState:
    """The state for ``config``; ``delivery_transport`` carries deliveries instead of HTTP."""
    world = world if world is not None else load_world(config.fixtures)
    database = Database(config.db)
    clock: RealClock | VirtualClock = (
        VirtualClock(database) if config.clock == "virtual" else RealClock()
    )
    return EmulatorState(
        config=config,
        world=world,
        database=database,
        clock=clock,
        tokens=ExchangeTokens(database, clock, config.token_ttl),
        dispatcher=Dispatcher(database, clock, config, transport=delivery_transport),
        rate_limiter=RateLimiter(config.rate_limit),
    )


def state_of(request: Request) -> EmulatorState:
    return cast(EmulatorState, request.app.state.emulator)
