"""Running the emulator under uvicorn, until SIGTERM or Ctrl-C.

Either signal ends the playground's open event streams at once (they would otherwise hold the
graceful shutdown open) and, with ``--export-on-exit``, writes the state before the process
exits; a second Ctrl-C (uvicorn's forced exit) still writes it.
"""

from __future__ import annotations

import logging
from types import FrameType

import uvicorn

from emulator.app import create_app, stop
from emulator.config import EmulatorConfig
from emulator.guard import LOOPBACK_NAMES
from emulator.state import EmulatorState, build_state

GRACEFUL_SECONDS = 5
logger = logging.getLogger("emulator.server")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: EmulatorState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._state.feed.close()
        super().handle_exit(sig, frame)


def serve(config: EmulatorConfig) -> None:
    state = build_state(config)
    app = create_app(config, state=state)
    if config.host.strip("[]") not in {name.strip("[]") for name in LOOPBACK_NAMES}:
        logger.warning(
            "listening on %s: requests must still name a loopback address or --allow-host",
            config.host,
        )
    server = _Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="info",
            access_log=True,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        ),
        state,
    )
    try:
        server.run()
    finally:
        stop(state)
