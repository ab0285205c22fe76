"""Memory: peak RSS after 1,000 deliveries against the peak after 10, for each app.

Each app runs alone in a fresh process (`--subject`), answering new `remember color blue`
deliveries through `chalice.test.Client` with the platform in process; ours uses the SQLite
store, the peer its in-memory one. Growth beyond the first ten deliveries is what a warm
container would accumulate.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
from typing import Final

from benchmarks import report
from benchmarks.platform_stub import PlatformAnswers
from benchmarks.report import Row, mib
from benchmarks.subjects import (
    ROOT,
    Poster,
    delivery,
    give_peer_platform,
    our_environment,
    peer_environment,
    scratch_dir,
    use_in_process_platform,
)

MODULES: Final = {"ours": "app", "peer": "benchmarks.peer.app", "bare": "benchmarks.peer.bare"}
CHECKPOINTS: Final = (10, 1000)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def measure(subject: str) -> dict[str, int]:
    """In this process: peak RSS at each checkpoint of deliveries answered by `subject`."""
    report.silence_stdout()
    answers = PlatformAnswers()
    api_url = "https://platform.bench/v1/"
    state = scratch_dir("bench-memory-")
    os.environ.update({
        **our_environment(api_url, f"sqlite:///{state}/idempotency.sqlite3"),
        **peer_environment(api_url),
    })  # fmt: skip
    app = importlib.import_module(MODULES[subject]).app
    if subject == "ours":
        use_in_process_platform(answers.transport())
    elif subject == "peer":
        give_peer_platform(answers.transport())
    post = Poster(app)
    peaks: dict[str, int] = {}
    answered = 0
    for checkpoint in CHECKPOINTS:
        while answered < checkpoint:
            post(delivery("remember", "color blue"))
            answered += 1
        peaks[str(checkpoint)] = peak_rss_bytes()
    return peaks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", choices=sorted(MODULES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.subject:
        print(json.dumps(measure(args.subject)), file=sys.stderr)
        return
    peaks = {}
    for subject in MODULES:
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_memory", "--subject", subject],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        peaks[subject] = json.loads(completed.stderr.strip().splitlines()[-1])
    few, many = (str(n) for n in CHECKPOINTS)

    def cell(subject: str) -> str:
        before, after = peaks[subject][few], peaks[subject][many]
        return f"{mib(before)} → {mib(after)}"

    ours = peaks["ours"]
    report.emit(
        Row(
            f"peak RSS after {int(many):,} deliveries vs after {few}",
            cell("ours"),
            cell("peer"),
            cell("bare"),
            f"{ours[many] / ours[few]:.3f}x (peer {peaks['peer'][many] / peaks['peer'][few]:.3f}x)",
            "≤ 1.10x",
        )
    )


if __name__ == "__main__":
    main()
