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
from types import FrameType

from chalicelib.runtime.declarations import InvalidDeclaration
from devstack.app_log import RegistrationErrors
from devstack.intents import app_intents
from devstack.stack import (
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
    options = parser.parse_args(argv)
    ports = Ports(emulator=options.emulator_port, app=options.app_port)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    processes: list[Process] = []
    try:
        emulator = Process("emulator", emulator_command(ports, app_intents(), options.clock), {})
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
    invoke = f"http://127.0.0.1:{ports.emulator}/_emulator/invoke"
    return "\n".join(
        [
            f"playground: http://127.0.0.1:{ports.emulator}/",
            f"emulator: http://127.0.0.1:{ports.emulator}   app: http://127.0.0.1:{ports.app}",
            f"logs: {STATE_DIR}/emulator.log, {STATE_DIR}/app.log, {STATE_DIR}/worker.log",
            "try:",
            f'  curl -s -X POST {invoke} -d \'{{"intent": "remember", "query": "color blue"}}\'',
            f'  curl -s -X POST {invoke} -d \'{{"intent": "recall", "query": "color"}}\'',
            f'  curl -s -X POST {invoke} -d \'{{"intent": "history"}}\'',
            f'  curl -s -X POST {invoke} -d \'{{"intent": "report"}}\'',
            f"  curl -s http://127.0.0.1:{ports.emulator}/_emulator/messages   (follow-ups)",
            "Ctrl-C stops them all.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
