"""Warm intake per delivery: our app against the peer and a bare Chalice route, on equal work.

Judged twice, each against work of the same kind:

- **usage record off**: ours with `DAILYBOT_USAGE_ACTIVITY=off` against the peer as it is (no
  platform call at all on either side). Target: at most 2x the peer.
- **usage record on**: ours as it ships, recording each command's usage beside its handler,
  against the peer recording it the way the platform's documentation leads a user to: one
  `POST /v1/platform/activity/` after its handler, in series (`PEER_USAGE_ACTIVITY=on`).
  Target: at most 1.2x the peer.

Each with the SQLite store (the peer's store in memory) and with DynamoDB (the peer on
Powertools' DynamoDB layer). The platform stub and moto's server run as processes of their
own (`services`), where Dailybot and DynamoDB stand, so their work never takes the measured
app's turn at the interpreter. Every (store, usage) pair runs in a fresh process, configured
by the environment alone, where ours, the peer and the bare route answer through
`chalice.test.Client` taking turns. The delivery is `vote` with no words (a reply with buttons,
no platform call of the command's own). A duplicate (the stored reply) is measured too. Log
and EMF lines go to /dev/null, as they would to Lambda's log pipe. With the SQLite store and
the usage record off, ours also runs with one part switched off at a time (`intake_parts`):
rows without a target that say where the time beyond the peer goes.

    python -m benchmarks.bench_intake                    every configuration
    python -m benchmarks.bench_intake STORE USAGE        one (sqlite|dynamodb, off|on)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import Final

from benchmarks import report
from benchmarks.intake_parts import variant_calls
from benchmarks.local_aws import OUR_TABLE, PEER_TABLE
from benchmarks.report import Row, us
from benchmarks.services import moto_process, platform_stub_process
from benchmarks.subjects import (
    Poster,
    delivery,
    interleaved,
    load_apps,
    our_environment,
    peer_environment,
    scratch_dir,
)

STORES: Final = {
    "sqlite": "SQLite store; peer in memory",
    "dynamodb": "DynamoDB store, moto's server; peer on Powertools' DynamoDB layer",
}
USAGE: Final = {
    "off": ("usage record off, peer as is", "≤ 2x peer"),
    "on": ("usage record on, peer recording usage after its handler", "≤ 1.2x peer"),
}
PLATFORM_ENV: Final = "BENCH_PLATFORM_URL"
MOTO_ENV: Final = "BENCH_MOTO_URL"


def environment(store: str, usage: str, platform_url: str, moto_url: str) -> dict[str, str]:
    """Both apps' settings for one configuration: the same platform, stores of the kind."""
    state = scratch_dir("bench-intake-")
    ours = our_environment(platform_url, f"sqlite:///{state}/idempotency.sqlite3")
    peer = peer_environment(platform_url)
    if store == "dynamodb":
        ours |= {
            "IDEMPOTENCY_STORE": f"dynamodb://{OUR_TABLE}",
            "IDEMPOTENCY_DYNAMODB_ENDPOINT": moto_url,
        }
        peer |= {"PEER_STORE": f"dynamodb://{PEER_TABLE}", "AWS_ENDPOINT_URL_DYNAMODB": moto_url}
    return {**ours, **peer, "DAILYBOT_USAGE_ACTIVITY": usage, "PEER_USAGE_ACTIVITY": usage}


def _new_vote(post: Poster) -> object:
    return post(delivery("vote"))


def measure(store: str, usage: str) -> None:
    """One configuration, in this process: its rows."""
    report.silence_stdout()
    rounds, per_round = (3, 60) if report.quick() else (7, 150)
    env = environment(store, usage, os.environ[PLATFORM_ENV], os.environ[MOTO_ENV])
    ours, peer, bare = load_apps(env)
    post = {"ours": Poster(ours), "peer": Poster(peer), "bare": Poster(bare)}
    repeated = delivery("vote")
    for poster in post.values():
        poster(repeated)
        for _ in range(50):  # the first delivery also registers; warm up past it
            poster(delivery("vote"))
    calls: dict[str, Callable[[], object]] = {
        f"{name} new": partial(_new_vote, poster) for name, poster in post.items()
    }
    if usage == "off":
        calls |= {f"{n} duplicate": partial(post[n], repeated) for n in ("ours", "peer")}
    parts = variant_calls(post["ours"]) if (store, usage) == ("sqlite", "off") else {}
    for call in parts.values():
        for _ in range(50):
            call()
    calls |= parts
    times = interleaved(calls, rounds=rounds, per_round=per_round)
    label, target = USAGE[usage]
    kinds = ("new", "duplicate") if usage == "off" else ("new",)
    for kind in kinds:
        ours_s, peer_s, bare_s = times[f"ours {kind}"], times[f"peer {kind}"], times["bare new"]
        report.emit(
            Row(
                f"warm intake, {kind} delivery, {label} ({STORES[store]}), per delivery",
                us(ours_s),
                us(peer_s),
                us(bare_s),
                report.ratio(ours_s, peer_s, "peer") + f", {ours_s / bare_s:.1f}x bare",
                target if kind == "new" else "",
            )
        )
    for name in parts:
        report.emit(
            Row(
                f"where the time goes: warm intake, new delivery, {label} ({STORES[store]}),"
                f" {name.removeprefix('ours, ')}",
                us(times[name]),
                us(times["peer new"]),
                us(times["bare new"]),
                report.ratio(times[name], times["peer new"], "peer"),
                "",
            )
        )


def main() -> None:
    if len(sys.argv) == 3:
        measure(sys.argv[1], sys.argv[2])
        return
    with platform_stub_process() as platform_url, moto_process() as moto_url:
        env = {**os.environ, PLATFORM_ENV: platform_url, MOTO_ENV: moto_url}
        for store in STORES:
            for usage in USAGE:
                subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_intake", store, usage],
                    env=env,
                    check=True,
                )


if __name__ == "__main__":
    main()
