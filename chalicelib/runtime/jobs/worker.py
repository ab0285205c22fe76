"""The local job worker: drains the queue `JOBS_QUEUE` names through the same `JobRunner` as
the SQS handler. `make run` starts it beside the emulator and `chalice local`.

    python app.py work [--once]
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Protocol

from chalicelib.observability import logger
from chalicelib.runtime.jobs.queue import JobQueue, JobSource, ReceivedJob
from chalicelib.runtime.jobs.runner import JobRunner
from chalicelib.settings import SettingsError

POLL_SECONDS = 0.05
"""How long an idle worker waits before looking again (the local follow-up's latency)."""


class DrainableQueue(JobSource, Protocol):
    def receive(self, visibility_seconds: float) -> ReceivedJob | None: ...


def drain(
    runner: JobRunner,
    queue: DrainableQueue,
    *,
    visibility_seconds: float,
    stop: threading.Event,
    once: bool = False,
) -> int:
    """Runs jobs until `stop` is set (or, with `once`, until the queue has none visible);
    answers how many attempts ran."""
    attempts = 0
    while not stop.is_set():
        received = queue.receive(visibility_seconds)
        if received is None:
            if once:
                break
            stop.wait(POLL_SECONDS)
            continue
        attempts += 1
        result = runner.run(received)
        logger.info("job attempt settled", extra={"outcome": str(result.outcome)})
        result.settle(queue, received)
    return attempts


def drainable(queue: JobQueue) -> DrainableQueue:
    if not hasattr(queue, "receive"):
        raise SettingsError(f"{queue!r} cannot be drained by a worker")
    return queue  # type: ignore[return-value]


def main(argv: Sequence[str], *, runner: JobRunner, queue: JobQueue, visibility: float) -> int:
    parser = argparse.ArgumentParser(prog="python app.py work", description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop when no job is visible")
    options = parser.parse_args(list(argv))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    source = drainable(queue)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        logger.info("the job worker is draining %r", queue)
        drain(runner, source, visibility_seconds=visibility, stop=stop, once=options.once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
