"""Cold start: process start to the first answered delivery, ours against the peer and bare.

Each sample is a fresh interpreter (`first_delivery`) that imports the app and answers
`remember color blue` (one storage call to the platform stub, with no delay) through
`chalice.test.Client`. Two configurations: the SQLite store with secrets in the environment
(the peer's store in memory), and the AWS one, where our app uses the DynamoDB store and reads
its secrets through Parameters from SSM, and the peer uses Powertools' DynamoDB layer and
Parameters, both against moto's server. The bare route is the same in both. The subjects
take turns, and the first sample of each (self-registration, disk cache) is not counted.
The apps' own modules run from a copy without bytecode, as in Lambda (`deployment_like_copy`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from benchmarks import report
from benchmarks.local_aws import LocalAWS
from benchmarks.platform_stub import PlatformStub
from benchmarks.report import Row, ms
from benchmarks.subjects import (
    ROOT,
    SIGNATURE,
    our_environment,
    peer_environment,
    run_first_delivery,
    scratch_dir,
)

SUBJECTS: Final = ("ours", "peer", "bare")
TARGETS: Final = {
    "SQLite store": "≤ 0.5x peer",
    "AWS: DynamoDB store, secrets in SSM": "≤ 0.8x peer",
}


def deployment_like_copy() -> Path:
    """The apps' own code copied without bytecode, as Lambda gets it.

    The deployment package ships no `__pycache__` and Lambda cannot write one, so a cold start
    compiles the app's modules from source; the installed libraries keep their bytecode here.
    Run with `PYTHONDONTWRITEBYTECODE=1`, every sample compiles the same.
    """
    tree = scratch_dir("bench-cold-tree-")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy2(ROOT / "app.py", tree)
    shutil.copytree(ROOT / "chalicelib", tree / "chalicelib", ignore=ignore)
    (tree / "benchmarks").mkdir()
    for name in ("__init__.py", "first_delivery.py"):
        shutil.copy2(ROOT / "benchmarks" / name, tree / "benchmarks")
    shutil.copytree(ROOT / "benchmarks" / "peer", tree / "benchmarks" / "peer", ignore=ignore)
    return tree


def sample(subject: str, env: Mapping[str, str], tree: Path) -> float:
    """Seconds from starting the process to its first answer."""
    started = time.time()
    completed = run_first_delivery(subject, env, cwd=tree)
    answered = [line for line in completed.stderr.splitlines() if line.startswith("answered-at ")]
    if completed.returncode != 0 or not answered:
        raise RuntimeError(f"{subject} failed to answer:\n{completed.stderr}")
    return float(answered[-1].split()[1]) - started


def medians(env: Mapping[str, str], samples: int, tree: Path) -> dict[str, float]:
    for subject in SUBJECTS:
        sample(subject, env, tree)
    times: dict[str, list[float]] = {subject: [] for subject in SUBJECTS}
    for number in range(samples):
        shift = number % len(SUBJECTS)
        for subject in SUBJECTS[shift:] + SUBJECTS[:shift]:
            times[subject].append(sample(subject, env, tree))
    return {subject: statistics.median(values) for subject, values in times.items()}


def main() -> None:
    samples = 2 if report.quick() else 5
    state = scratch_dir("bench-cold-")
    tree = deployment_like_copy()
    with PlatformStub() as stub, LocalAWS() as aws:
        aws.prepare()
        local = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            **our_environment(stub.base_url, f"sqlite:///{state}/idempotency.sqlite3"),
            **peer_environment(stub.base_url),
            "BENCH_SIGNATURE": SIGNATURE,
        }
        configurations = {
            "SQLite store": local,
            "AWS: DynamoDB store, secrets in SSM": {
                **local,
                **aws.our_environment(),
                **aws.peer_environment(),
            },
        }
        for name, env in configurations.items():
            times = medians(env, samples, tree)
            report.emit(
                Row(
                    f"cold start to first answered delivery, {name} (median of {samples})",
                    ms(times["ours"]),
                    ms(times["peer"]),
                    ms(times["bare"]),
                    report.ratio(times["ours"], times["peer"], "peer")
                    + f", {times['ours'] / times['bare']:.1f}x bare",
                    TARGETS[name],
                )
            )


if __name__ == "__main__":
    main()
