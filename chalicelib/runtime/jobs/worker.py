"""The local job worker: drains the queue `JOBS_QUEUE` names through the same `JobRunner` as
the SQS handler. `make run` starts it beside the emulator and `chalice local`.

    python app.py work [--once]

No message and no dependency stops it: the runner never raises, and a queue or store that is
busy or unreachable is waited out with a growing pause (logged), after which the worker goes
on where it was. A message whose settling failed reappears when its visibility window ends.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Final

from chalicelib.observability import logger
from chalicelib.runtime.jobs.queue import JobQueue, QueueUnavailable, ReceivedJob
from chalicelib.runtime.jobs.runner import JobRunner

POLL_SECONDS: Final = 0.05
"""How long an idle worker waits before looking again (the local follow-up's latency)."""


@dataclass
class Recovery:
    """The pause after a failed call to the queue: doubling from `first` up to `longest`,
    back to nothing after a call that worked."""

    first: float = 0.5
    longest: float = 30.0
    failures: int = field(default=0)

    def next_pause(self) -> float:
        self.failures += 1
        return float(min(self.first * 2 ** (self.failures - 1), self.longest))

    def recovered(self) -> None:
        if self.failures:
            logger.info("the job queue answers again")
        self.failures = 0


def drain(
    runner: JobRunner,
    queue: JobQueue,
    *,
    stop: threading.Event,
    once: bool = False,
    recovery: Recovery | None = None,
) -> int:
    """Runs jobs until `stop` is set (or, with `once`, until the queue has none visible);
    answers how many attempts ran."""
    recovery = recovery or Recovery()
    visibility = runner.timings.visibility_seconds
    attempts = 0
    while not stop.is_set():
        received = _receive(queue, visibility, recovery, stop)
        if received is None:
            if once and recovery.failures == 0:
                break
            stop.wait(POLL_SECONDS)
            continue
        attempts += 1
        result = runner.run(received)
        logger.info("job attempt settled", extra={"outcome": str(result.outcome)})
        try:
            queue.settle(received, result)
            recovery.recovered()
        except Exception as exc:
            _wait_out(exc, "settle a job", recovery, stop)
    return attempts


def _receive(
    queue: JobQueue, visibility: float, recovery: Recovery, stop: threading.Event
) -> ReceivedJob | None:
    try:
        received = queue.receive(visibility)
    except Exception as exc:
        _wait_out(exc, "receive a job", recovery, stop)
        return None
    recovery.recovered()
    return received


def _wait_out(exc: Exception, doing: str, recovery: Recovery, stop: threading.Event) -> None:
    pause = recovery.next_pause()
    if isinstance(exc, QueueUnavailable):
        logger.warning("could not %s (%s); trying again in %.1f s", doing, exc, pause)
    else:
        logger.exception("could not %s; trying again in %.1f s", doing, pause)
    stop.wait(pause)


def main(argv: Sequence[str], *, runner: JobRunner, queue: JobQueue) -> int:
    parser = argparse.ArgumentParser(prog="python app.py work", description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop when no job is visible")
    options = parser.parse_args(list(argv))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        logger.info("the job worker is draining %r", queue)
        drain(runner, queue, stop=stop, once=options.once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
