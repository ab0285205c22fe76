"""Command line: ``python -m emulator serve --host ... --port ... --fixtures ... --db ...``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from emulator.config import DEFAULT_DB, DEFAULT_FIXTURES, EmulatorConfig
from emulator.server import serve
from emulator.world import FixtureError


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the local Dailybot platform emulator")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8001)
    run.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    run.add_argument("--db", default=str(DEFAULT_DB), help="SQLite file, or :memory:")
    run.add_argument("--clock", choices=("real", "virtual"), default="real")
    run.add_argument("--rate-limit", type=int, default=0, help="requests a minute per key; 0=off")
    run.add_argument("--token-ttl", type=_positive, default=3600.0, help="seconds")
    run.add_argument("--delivery-timeout", type=_positive, default=10.0, help="seconds")
    run.add_argument("--delivery-attempts", type=int, default=3)
    run.add_argument("--redelivery-pause", type=float, default=0.2, help="seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    config = EmulatorConfig(
        host=arguments.host,
        port=arguments.port,
        fixtures=arguments.fixtures,
        db=arguments.db,
        clock=arguments.clock,
        rate_limit=max(0, arguments.rate_limit),
        token_ttl=arguments.token_ttl,
        delivery_timeout=arguments.delivery_timeout,
        delivery_attempts=max(1, arguments.delivery_attempts),
        redelivery_pause=max(0.0, arguments.redelivery_pause),
    )
    try:
        serve(config)
    except FixtureError as exc:
        print(f"emulator: invalid fixtures: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
