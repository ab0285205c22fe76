"""Running the emulator under uvicorn."""

from __future__ import annotations

import uvicorn

from emulator.app import create_app
from emulator.config import EmulatorConfig


def serve(config: EmulatorConfig) -> None:
    app = create_app(config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info", access_log=True)
