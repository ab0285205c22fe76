"""The emulator's run configuration: one frozen value built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ClockMode = Literal["real", "virtual"]

DEFAULT_FIXTURES = Path(__file__).parent / "fixtures" / "default.json"
DEFAULT_DB = Path(".local") / "emulator.db"


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that changes how one emulator process behaves."""

    host: str = "127.0.0.1"
    port: int = 8001
    fixtures: Path = DEFAULT_FIXTURES
    db: str = str(DEFAULT_DB)
    clock: ClockMode = "real"
    rate_limit: int = 0
    token_ttl: float = 3600.0
    delivery_timeout: float = 10.0
    delivery_attempts: int = 3
    redelivery_pause: float = 0.2
    scheduler_tick: float = 0.5
    # `Host` values answered besides the loopback names with the bound port (`127.0.0.1`,
    # `localhost`, `[::1]`): `name` or `name:port`. The in-process test kit passes its own.
    allowed_hosts: tuple[str, ...] = ()
    # A state file (`--import`) loaded at start, replacing what the database holds.
    import_path: Path | None = None
    # Where the whole state is written when the emulator stops (`--export-on-exit`).
    export_path: Path | None = None
