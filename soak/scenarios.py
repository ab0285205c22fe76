"""A whole soak run: start the stack, run the phases, check the rows, write the table.

`PHASES` and `ROWS` are the two lists a new scenario extends (see the package docstring).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from benchmarks.local_processes import free_port
from soak.delivery_server import DeliveryServer
from soak.phases import (
    DeferredJobs,
    DeliveryCrashes,
    MixedLoad,
    Phase,
    PlatformFaults,
    StaleReplays,
    run_phase,
)
from soak.report import Row, render, write
from soak.router import Router
from soak.rows import ROWS
from soak.run import SoakRun
from soak.settings import SoakSettings
from soak.stack import Stack

PHASES: Final[tuple[Phase, ...]] = (
    MixedLoad(),
    PlatformFaults(),
    DeliveryCrashes(),
    DeferredJobs(),
    StaleReplays(),
)


@dataclass(frozen=True)
class SoakResult:
    rows: list[Row]
    table: str
    path: Path

    @property
    def holds(self) -> bool:
        return all(row.holds for row in self.rows)


def run_soak(settings: SoakSettings, echo: Callable[[str], None] = print) -> SoakResult:
    """Runs every phase against a fresh stack and answers the checked rows."""
    problems = settings.problems()
    if problems:
        raise ValueError("; ".join(problems))
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = settings.out / f"{stamp}-seed{settings.seed}"
    directory.mkdir(parents=True, exist_ok=True)
    echo("settings: " + ", ".join(f"{name}={value}" for name, value in settings.describe()))
    routers: list[Router] = []  # the router needs the fleet, the fleet the router's URL

    def route(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        return routers[0].handle(body, headers) if routers else (503, b"{}")

    server = DeliveryServer(free_port(), route)
    try:
        echo(
            f"starting moto, the emulator, {settings.apps} apps and a job worker "
            f"(logs in {directory}/logs)"
        )
        stack = Stack(settings, server.url, directory)
        try:
            routers.append(Router(stack.apps, settings.seed))
            run = SoakRun(settings, stack, routers[0])
            try:
                for phase in PHASES:
                    echo(f"phase: {phase.name} (at {time.monotonic() - started:.0f} s)")
                    run_phase(run, phase)
                echo(f"checking the rows (at {time.monotonic() - started:.0f} s)")
                rows = [check(run) for check in ROWS]
            finally:
                run.close()
        finally:
            stack.stop()
    finally:
        server.stop()
        for router in routers:
            router.close()
    table = render(rows, settings.describe(), time.monotonic() - started)
    return SoakResult(rows, table, write(directory, table))
