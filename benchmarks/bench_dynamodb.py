"""DynamoDB round trips per delivery, counted at moto's server (`local_aws`).

Our app (the DynamoDB store, secrets in SSM) and the peer (Powertools' DynamoDB layer, the
same secrets) answer in this process through `chalice.test.Client`; the platform is the stub
with no delay. Counted: the deployment's first delivery (which registers the declared
schedules under the reconcile lock), the first delivery of a later container (a fresh
interpreter that finds them registered), then new deliveries and duplicates (the same body
again). Powertools needs a conditional put and an update for a new delivery,
and answers a duplicate from the failed put's returned item, with no extra read.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final

from benchmarks import report
from benchmarks.local_aws import LocalAWS
from benchmarks.platform_stub import PlatformStub
from benchmarks.report import Row
from benchmarks.subjects import (
    SIGNATURE,
    Poster,
    delivery,
    load_apps,
    our_environment,
    peer_environment,
    run_first_delivery,
    scratch_dir,
)

FIRST: Final = "first delivery of the deployment (registers its schedules under the lock)"
LATER: Final = "first delivery of a later container (registrations unchanged)"
TARGETS: Final = {
    FIRST: "",
    LATER: "",
    "new delivery": "2 (conditional put, update)",
    "duplicate delivery": "1 (the failed conditional put)",
}


def per_delivery(
    aws: LocalAWS, post: Callable[[bytes], object], bodies: list[bytes]
) -> tuple[float, Counter[str]]:
    aws.dynamodb_calls.clear()
    for body in bodies:
        post(body)
    calls = Counter(aws.dynamodb_calls)
    return calls.total() / len(bodies), calls


def in_new_process(subject: str, env: Mapping[str, str]) -> Callable[[bytes], object]:
    """Answers one delivery in a fresh interpreter (its body is made there)."""

    def post(body: bytes) -> object:
        completed = run_first_delivery(subject, env)
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr)
        return completed

    return post


def described(mean: float, calls: Counter[str], count: int) -> str:
    parts = ", ".join(f"{name} {n / count:g}" for name, n in sorted(calls.items()))
    return f"{mean:g} ({parts})" if parts else f"{mean:g}"


def main() -> None:
    report.silence_stdout()
    count = 3 if report.quick() else 10
    state = scratch_dir("bench-dynamodb-")
    with PlatformStub() as stub, LocalAWS() as aws:
        aws.prepare()
        env = {
            **our_environment(stub.base_url, f"sqlite:///{state}/unused.sqlite3"),
            **peer_environment(stub.base_url),
            **aws.our_environment(),
            **aws.peer_environment(),
        }
        ours, peer, _ = load_apps(env)
        results: dict[str, dict[str, str]] = {kind: {} for kind in TARGETS}
        means: dict[str, dict[str, float]] = {kind: {} for kind in TARGETS}
        for name, app in (("ours", ours), ("peer", peer)):
            post = Poster(app)
            new = [delivery("remember", "color blue") for _ in range(count)]
            for kind, poster, bodies in (
                (FIRST, post, [delivery("remember", "color blue")]),
                (LATER, in_new_process(name, {**os.environ, "BENCH_SIGNATURE": SIGNATURE}), [b""]),
                ("new delivery", post, new),
                ("duplicate delivery", post, new),
            ):
                mean, calls = per_delivery(aws, poster, bodies)
                means[kind][name] = mean
                results[kind][name] = described(mean, calls, len(bodies))
    for kind, target in TARGETS.items():
        report.emit(
            Row(
                f"DynamoDB round trips, {kind}",
                results[kind]["ours"],
                results[kind]["peer"],
                "0",
                report.ratio(means[kind]["ours"], means[kind]["peer"], "peer"),
                target,
            )
        )


if __name__ == "__main__":
    main()
