"""One process delivering one body through the real intake (for two-process tests).

Run as `python -m tests.runtime.concurrent_delivery BODY_JSON MARKER_FILE GO_FILE`. The store
comes from `IDEMPOTENCY_STORE` (and `IDEMPOTENCY_DYNAMODB_ENDPOINT`). The handler appends this
process's pid to MARKER_FILE and takes a second, so a concurrent twin arrives while it runs.
Says it is ready (a `ready-PID` file beside GO_FILE), then waits for GO_FILE before delivering,
so the processes deliver together. Prints the status and reply as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from chalicelib.runtime.composition import build_runtime
from chalicelib.runtime.context import Context
from chalicelib.runtime.intake.http import IncomingRequest
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.deliveries import headers
from tests.runtime.fake_platform import FakePlatform


def main(body: str, marker: Path, go: Path) -> None:
    commands = CommandRegistry()

    @commands.command("once")
    def once(ctx: Context) -> str:
        with marker.open("a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        return f"ran in {os.getpid()}"

    runtime = build_runtime(commands, transport=FakePlatform().transport(), registration=None)
    (go.parent / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 20
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    response = runtime.intake.handle(IncomingRequest.of(body.encode(), headers()))
    print(json.dumps({"status": response.status, "body": dict(response.body)}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
