"""`python -m devstack` (`make run`): the emulator on :8001, the app on :8000 and the job
worker, until Ctrl-C.

The emulator serves the playground page at its root and knows every intent the app registers.
A job worker that exits is said and started again (jobs wait in their queue meanwhile); the
emulator and the app keep serving. Any other process exiting stops the stack.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from chalicelib.runtime.declarations import InvalidDeclaration
from devstack.app_log import RegistrationErrors
from devstack.intents import app_intents
from devstack.stack import (
    ROOT,
    STATE_DIR,
    WORKER_COMMAND,
    Ports,
    Process,
    app_command,
    app_environment,
    emulator_command,
    wait_ready,
)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--emulator-port", type=int, default=8001)
    parser.add_argument("--app-port", type=int, default=8000)
    parser.add_argument(
        "--clock",
        choices=("real", "virtual"),
        default="real",
        help="virtual: time stands still until the playground (or the control API) advances it",
    )
    parser.add_argument(
        "--import",
        dest="import_path",
        type=Path,
        metavar="PATH",
        help="start the emulator from this state file (see emulator/README.md)",
    )
    parser.add_argument(
        "--export-on-exit",
        dest="export_path",
        type=Path,
        metavar="PATH",
        help="write the emulator's whole state to this file when the stack stops",
    )
    options = parser.parse_args(argv)
    ports = Ports(emulator=options.emulator_port, app=options.app_port)
    state = _state_arguments(options)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Started in the background from a script, the stack inherits SIGINT ignored: an
    # interrupt sent to it (kill -INT, Ctrl-C once in the foreground) must still stop it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    processes: list[Process] = []
    try:
        command = emulator_command(ports, app_intents(), options.clock, state)
        emulator = Process("emulator", command, {})
        processes.append(emulator)
        environment = app_environment(ports)
        if options.clock == "virtual":
            # The virtual clock runs ahead of the app's real one: its deliveries would look
            # "from the future" and be refused, so the app's freshness check is off.
            environment["DAILYBOT_MAX_DELIVERY_AGE"] = "0"
        app = Process("app", app_command(ports), environment)
        processes.append(app)
        processes.append(Process(WORKER_NAME, WORKER_COMMAND, app_environment(ports)))
        wait_ready(emulator, f"http://127.0.0.1:{ports.emulator}/_emulator/health")
        wait_ready(app, f"http://127.0.0.1:{ports.app}/health")
        print(_banner(ports), flush=True)
        registration_errors = RegistrationErrors(app.log_path)

        def report_registration_errors() -> None:
            for line in registration_errors.new():
                print(f"app: {line}", file=sys.stderr, flush=True)

        stopped = supervise(
            processes, restartable={WORKER_NAME}, every_tick=report_registration_errors
        )
        print(f"{', '.join(stopped)} stopped; see {STATE_DIR}/*.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    except InvalidDeclaration as exc:
        # A command module declares what the platform would refuse: the author's fix.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            process.stop()


def _state_arguments(options: argparse.Namespace) -> list[str]:
    """`--import` / `--export-on-exit` for the emulator, as absolute paths."""
    arguments: list[str] = []
    if options.import_path is not None:
        arguments += ["--import", str(options.import_path.resolve())]
    if options.export_path is not None:
        arguments += ["--export-on-exit", str(options.export_path.resolve())]
    return arguments


def _shown_interpreter() -> str:
    """This Python as a person would type it from the project (`.venv/bin/python`)."""
    executable = Path(sys.executable)
    return str(executable.relative_to(ROOT)) if executable.is_relative_to(ROOT) else "python"


WORKER_NAME = "worker"
# A process restarted this often within the window is given up on (it cannot start).
RESTARTS_ALLOWED = 5
RESTART_WINDOW_SECONDS = 60.0


def supervise(
    processes: list[Process],
    *,
    restartable: set[str],
    every_tick: Callable[[], None] = lambda: None,
) -> list[str]:
    """Watches the processes until one that may not be restarted stops (answers their names);
    a restartable one is said and started again, unless it keeps dying. `every_tick` runs
    every half second meanwhile."""
    restarts: dict[str, list[float]] = {}
    while True:
        every_tick()
        time.sleep(0.5)
        stopped = [p for p in processes if not p.running()]
        for process in stopped:
            now = time.monotonic()
            recent = [t for t in restarts.get(process.name, []) if now - t < RESTART_WINDOW_SECONDS]
            if process.name not in restartable or len(recent) >= RESTARTS_ALLOWED:
                return [p.name for p in stopped]
            code = process.popen.returncode
            print(
                f"the {process.name} exited (status {code}); starting it again"
                f" (see {process.log_path})",
                file=sys.stderr,
                flush=True,
            )
            restarts[process.name] = [*recent, now]
            process.restart()


def _banner(ports: Ports) -> str:
    emulator = f"http://127.0.0.1:{ports.emulator}"
    invoke = f"curl -s -X POST {emulator}/_emulator/invoke -H 'Content-Type: application/json'"
    url = "" if ports.emulator == 8001 else f" --url {emulator}"
    python = _shown_interpreter()
    return "\n".join(
        [
            f"playground: {emulator}/",
            f"emulator: {emulator}   app: http://127.0.0.1:{ports.app}",
            f"logs: {STATE_DIR}/emulator.log, {STATE_DIR}/app.log, {STATE_DIR}/worker.log",
            "try:",
            f'  {invoke} -d \'{{"intent": "remember", "query": "color blue"}}\'',
            f'  {invoke} -d \'{{"intent": "recall", "query": "color"}}\'',
            f"  {python} -m emulator invoke 'report'{url}",
            f"  {python} -m emulator trigger kudos.posted{url}",
            f"  curl -s {emulator}/_emulator/messages   (follow-ups)",
            "Ctrl-C stops them all.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
