"""`make jobs`: the dead-letter queue, listed and replayed.

python app.py jobs                  list the dead jobs, each with why it is there
python app.py jobs --replay ID      put one back on the queue (it runs again)
python app.py jobs --replay-all     put every one back
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from chalicelib.runtime.jobs.queue import DeadJob, JobQueue


def main(argv: Sequence[str], queue: JobQueue, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make jobs ARGS=...", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--replay", metavar="ID", help="replay the dead job ID")
    group.add_argument("--replay-all", action="store_true", help="replay every dead job")
    options = parser.parse_args(list(argv))
    out = out or sys.stdout
    if options.replay:
        if not queue.replay(options.replay):
            print(f"no dead job {options.replay}", file=out)
            return 1
        print(f"replayed {options.replay}", file=out)
        return 0
    dead = queue.dead_letters()
    if options.replay_all:
        replayed = [job.id for job in dead if queue.replay(job.id)]
        print(f"replayed {len(replayed)} job(s)", file=out)
        return 0
    if not dead:
        print("the dead-letter queue is empty", file=out)
        return 0
    for job in dead:
        print(_line(job), file=out)
    return 0


def _line(job: DeadJob) -> str:
    if job.message is None:
        return f"{job.id}  (unreadable message)  attempts={job.attempts}  {job.reason}".rstrip()
    delivery = job.message.delivery
    who = delivery.user_uuid or delivery.target_channel or "-"
    return (
        f"{job.id}  {job.message.job}  from {delivery.subject or delivery.kind} by {who}"
        f"  attempts={job.attempts}  {job.reason}".rstrip()
    )
