"""Cold start: process start to the first answered delivery, ours against the peer and bare.

Each sample is a fresh interpreter (`first_delivery`) that imports the app and answers
`remember color blue` (one storage call to the platform stub, with no delay) through the
app's Lambda handler. Two configurations: the SQLite store with secrets in the environment
(the peer's store in memory), and the AWS one, where our app uses the DynamoDB store and reads
its secrets through Parameters from SSM, and the peer uses Powertools' DynamoDB layer and
Parameters, both against moto's server. The bare route is the same in both. The runs take
turns, and the first sample of each (self-registration, disk cache) is not counted.

Each app runs from the tree its deployment unpacks into Lambda's `/var/task`
(`deployment_trees`), built once per run. Ours is the real deployment package
(`infra.package.build`) unpacked, with the bytecode it ships. The peer and the bare route
run from what `chalice package` would ship for the peer: the same libraries, without any
bytecode, plus `benchmarks/peer`. That gives the row "as each deployment ships it", with
the target. A second row per configuration gives the peer's tree the same compiled bytecode
as ours (`infra.package.compile_bytecode`): it shows how much of the ratio comes from our
lean start rather than from packaging, and with the AWS configuration it has a target of its
own (the runtime's start, where it matters). boto3 and botocore, which the zip
leaves to the Lambda runtime, come from the virtualenv with their bytecode, as the runtime
provides them. Samples run with `PYTHONDONTWRITEBYTECODE=1`, so no sample compiles for the
next one.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
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
from infra import package

TARGETS: Final = {
    "SQLite store": "≤ 0.5x peer",
    "AWS: DynamoDB store, secrets in SSM": "≤ 0.8x peer",
}
# With the same bytecode on both sides: what the runtime's own start is worth, where it matters.
SAME_BYTECODE_TARGETS: Final = {
    "SQLite store": "",
    "AWS: DynamoDB store, secrets in SSM": "≤ 0.85x peer",
}
# What a sample needs besides the app: the harness, as sources (never part of a deployment).
HARNESS: Final = ("__init__.py", "first_delivery.py")
_NO_BYTECODE: Final = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Trees:
    """Where each deployment is unpacked."""

    ours: Path  # our deployment package, with its bytecode
    peer: Path  # the peer's, as `chalice package` ships it: sources only
    peer_compiled: Path  # the peer's with the bytecode ours ships


def deployment_trees() -> Trees:
    """Each deployment's unpacked tree, plus the sample harness (see the module's docstring)."""
    scratch = scratch_dir("bench-cold-tree-")
    built = package.build("prod", scratch / "package")
    ours = scratch / "ours"
    with zipfile.ZipFile(built.zip_path) as archive:
        archive.extractall(ours)
    peer = scratch / "peer"
    shutil.copytree(ours, peer, ignore=_NO_BYTECODE)
    (peer / "app.py").unlink()
    shutil.rmtree(peer / "chalicelib")
    shutil.copytree(ROOT / "benchmarks" / "peer", peer / "benchmarks" / "peer", ignore=_NO_BYTECODE)
    peer_compiled = scratch / "peer-compiled"
    shutil.copytree(peer, peer_compiled)
    package.compile_bytecode(peer_compiled)
    for tree in (ours, peer, peer_compiled):
        (tree / "benchmarks").mkdir(exist_ok=True)
        for name in HARNESS:
            shutil.copy2(ROOT / "benchmarks" / name, tree / "benchmarks")
    return Trees(ours, peer, peer_compiled)


# `python -m` (like `-c`) puts the working directory first on sys.path, so a sample run in a
# tree imports that tree's httpx, Powertools and chalice (Chalice's zip holds only its
# `__init__.py` and `app.py`), not the virtualenv's; botocore is not in the tree and comes
# from the virtualenv. Checked for each tree before sampling, from its directory with the
# samples' environment; a sample run with `python -v` shows the same (httpx's `__init__`
# loaded from the tree's pyc, or compiled from the tree's source in the peer's).
_WHERE: Final = """
import importlib, os
for name in ("httpx", "aws_lambda_powertools", "chalice.app", "botocore"):
    module = importlib.import_module(name)
    print(name, module.__file__, os.path.isfile(module.__cached__))
"""


def check_imports_from(tree: Path, env: Mapping[str, str], *, bytecode: bool) -> None:
    """Fail unless a process started in `tree` imports the libraries of `tree`."""
    completed = subprocess.run(
        [sys.executable, "-c", _WHERE],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"imports in {tree} failed:\n{completed.stderr}")
    for line in completed.stdout.splitlines():
        name, path, cached = line.split()
        in_tree = Path(path).is_relative_to(tree)
        if in_tree != (name != "botocore"):  # botocore: the Lambda runtime's, never the zip's
            raise RuntimeError(f"{name} is imported from {path}, running in {tree}")
        if in_tree and (cached == "True") != bytecode:
            raise RuntimeError(f"{name} in {tree}: bytecode {cached}, expected {bytecode}")


def sample(subject: str, env: Mapping[str, str], tree: Path) -> float:
    """Seconds from starting the process to its first answer."""
    started = time.time()
    completed = run_first_delivery(subject, env, cwd=tree)
    answered = [line for line in completed.stderr.splitlines() if line.startswith("answered-at ")]
    if completed.returncode != 0 or not answered:
        raise RuntimeError(f"{subject} failed to answer:\n{completed.stderr}")
    return float(answered[-1].split()[1]) - started


def runs(trees: Trees) -> dict[str, tuple[str, Path]]:
    """What is timed: a name for each (subject, tree)."""
    return {
        "ours": ("ours", trees.ours),
        "peer": ("peer", trees.peer),
        "bare": ("bare", trees.peer),
        "peer compiled": ("peer", trees.peer_compiled),
        "bare compiled": ("bare", trees.peer_compiled),
    }


def medians(
    env: Mapping[str, str], samples: int, timed: Mapping[str, tuple[str, Path]]
) -> dict[str, float]:
    for subject, tree in timed.values():
        sample(subject, env, tree)
    times: dict[str, list[float]] = {name: [] for name in timed}
    order = list(timed)
    for number in range(samples):
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            subject, tree = timed[name]
            times[name].append(sample(subject, env, tree))
    return {name: statistics.median(values) for name, values in times.items()}


def row(label: str, times: Mapping[str, float], peer: str, bare: str, target: str) -> Row:
    return Row(
        label,
        ms(times["ours"]),
        ms(times[peer]),
        ms(times[bare]),
        report.ratio(times["ours"], times[peer], "peer")
        + f", {times['ours'] / times[bare]:.1f}x bare",
        target,
    )


def main() -> None:
    samples = 2 if report.quick() else 5
    state = scratch_dir("bench-cold-")
    trees = deployment_trees()
    with PlatformStub() as stub, LocalAWS() as aws:
        aws.prepare()
        local = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            **our_environment(stub.base_url, f"sqlite:///{state}/idempotency.sqlite3"),
            **peer_environment(stub.base_url),
            "BENCH_SIGNATURE": SIGNATURE,
        }
        check_imports_from(trees.ours, local, bytecode=True)
        check_imports_from(trees.peer, local, bytecode=False)
        check_imports_from(trees.peer_compiled, local, bytecode=True)
        configurations = {
            "SQLite store": local,
            "AWS: DynamoDB store, secrets in SSM": {
                **local,
                **aws.our_environment(),
                **aws.peer_environment(),
            },
        }
        for name, env in configurations.items():
            times = medians(env, samples, runs(trees))
            prefix = f"cold start to first answered delivery, {name}"
            of = f"(median of {samples})"
            shipped = f"{prefix}, as each deployment ships it, the peer's without bytecode {of}"
            compiled = f"{prefix}, the peer's deployment given the same bytecode as ours {of}"
            report.emit(row(shipped, times, "peer", "bare", TARGETS[name]))
            report.emit(
                row(compiled, times, "peer compiled", "bare compiled", SAME_BYTECODE_TARGETS[name])
            )


if __name__ == "__main__":
    main()
