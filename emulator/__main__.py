"""Command line: ``python -m emulator serve|trigger|invoke``.

- ``serve --host ... --port ... --fixtures ... --db ... [--import PATH] [--export-on-exit PATH]``
  runs the emulator;
- ``trigger EVENT [--organization UUID] [--body JSON]`` publishes an event to a running one;
- ``invoke TEXT [--user NAME]`` types a command in a running one;
- ``replay DELIVERY_ID [--body JSON]`` sends one of its deliveries again (as it was, or edited).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from emulator.cli_client import (
    CliError,
    Control,
    default_url,
    invoke,
    parse_body,
    replay,
    trigger,
)
from emulator.config import DEFAULT_DB, DEFAULT_FIXTURES, EmulatorConfig
from emulator.server import serve
from emulator.state_file import StateFileError
from emulator.world import FixtureError


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    run.add_argument(
        "--import",
        dest="import_path",
        type=Path,
        metavar="PATH",
        help="start from this state file (replaces what --db holds)",
    )
    run.add_argument(
        "--export-on-exit",
        dest="export_path",
        type=Path,
        metavar="PATH",
        help="write the whole state to this file when stopped (SIGTERM or Ctrl-C)",
    )
    run.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="also answer requests addressed to this Host (the loopback names always are)",
    )


def _client_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = "the running emulator (default %(default)s)"
    fire = commands.add_parser("trigger", help="publish an event to a running emulator")
    fire.add_argument("event", help="an event name, e.g. kudos.posted")
    fire.add_argument("--organization", help="its uuid or name (default: the first)")
    fire.add_argument("--body", help="the event's body as JSON, or @file.json (default: example)")
    fire.add_argument("--subscribed-object", help="the object the event is about")
    fire.add_argument("--url", default=default_url(), help=where)
    typed = commands.add_parser("invoke", help="type a command in a running emulator")
    typed.add_argument("text", help="the command as typed, e.g. 'remember color blue'")
    typed.add_argument("--user", help="full name, first name or uuid (default: the first)")
    typed.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    typed.add_argument("--url", default=default_url(), help=where)
    again = commands.add_parser("replay", help="send a delivery again, as it was or edited")
    again.add_argument("delivery_id", help="as the inspector or GET /_emulator/deliveries shows it")
    again.add_argument("--body", help="an edited body as JSON, or @file.json (a new delivery)")
    again.add_argument("--url", default=default_url(), help=where)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _client_parsers(commands)
    return parser


def _config(arguments: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
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
        allowed_hosts=tuple(arguments.allow_host),
        import_path=arguments.import_path,
        export_path=arguments.export_path,
    )


def _writable(path: Path) -> str | None:
    """Why the state could not be written to ``path`` on exit (``None``: it can)."""
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        return f"{path} is a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder}: {exc.strerror}"
    return None if os.access(folder, os.W_OK) else f"cannot write in {folder}"


def _serve(arguments: argparse.Namespace) -> int:
    config = _config(arguments)
    if config.export_path is not None and (problem := _writable(config.export_path)):
        print(f"emulator: --export-on-exit: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    try:
        serve(config)
    except FixtureError as exc:
        print(f"emulator: invalid fixtures: {exc}", file=sys.stderr)
        return 2
    except StateFileError as exc:
        print(f"emulator: cannot import the state: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # uvicorn passes Ctrl-C on once it has stopped
        return 0
    return 0


def _client(arguments: argparse.Namespace) -> int:
    control = Control(arguments.url)
    try:
        if arguments.command == "trigger":
            return trigger(
                control,
                arguments.event,
                organization=arguments.organization,
                body=parse_body(arguments.body),
                subscribed_object=arguments.subscribed_object,
                out=sys.stdout,
            )
        if arguments.command == "replay":
            body = parse_body(arguments.body)
            return replay(control, arguments.delivery_id, body=body, out=sys.stdout)
        return invoke(
            control, arguments.text, user=arguments.user, raw=arguments.json, out=sys.stdout
        )
    except CliError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "serve":
        return _serve(arguments)
    return _client(arguments)


if __name__ == "__main__":
    sys.exit(main())
