"""Profiles of our app, to find what a delivery costs (not run by `make bench`):

    python -m benchmarks.profiles warm [--deliveries N] [--usage off]
                                                          cProfile of warm new deliveries
    python -m benchmarks.profiles imports [--aws]         `-X importtime` of a first delivery
    python -m benchmarks.profiles first [--aws]           cProfile of a first delivery

`warm` answers `vote` deliveries as `bench_intake` does (SQLite store, platform in process).
`imports` and `first` run `first_delivery` for our app (or `--subject`) in a fresh interpreter
against the platform stub, with the SQLite store or (`--aws`) the AWS configuration of
`bench_cold_start`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
from collections import defaultdict

from benchmarks import report
from benchmarks.local_aws import LocalAWS
from benchmarks.platform_stub import PlatformAnswers, PlatformStub
from benchmarks.subjects import (
    SIGNATURE,
    Poster,
    delivery,
    load_apps,
    our_environment,
    peer_environment,
    run_first_delivery,
    scratch_dir,
    use_in_process_platform,
)


def warm(deliveries: int, top: int, usage: str = "on") -> None:
    report.silence_stdout()
    state = scratch_dir("profile-warm-")
    api_url = "https://platform.bench/v1/"
    env = our_environment(api_url, f"sqlite:///{state}/idempotency.sqlite3")
    ours, _, _ = load_apps({**env, "DAILYBOT_USAGE_ACTIVITY": usage})
    use_in_process_platform(PlatformAnswers().transport())
    post = Poster(ours)
    for _ in range(100):
        post(delivery("vote"))
    bodies = [delivery("vote") for _ in range(deliveries)]
    profiler = cProfile.Profile()
    workers = _profile_new_threads()
    profiler.enable()
    for body in bodies:
        post(body)
    profiler.disable()
    threading.setprofile(None)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    for worker in workers:  # the handlers run in worker threads
        stats.add(worker)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    report.say(f"{deliveries} warm deliveries; times are totals (divide by {deliveries})")
    report.say(text.getvalue())


def _profile_new_threads() -> list[cProfile.Profile]:
    """A profiler for each thread started from now on (cProfile sees one thread only)."""
    profilers: list[cProfile.Profile] = []

    def start(frame: object, event: str, arg: object) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start)
    return profilers


def _first_delivery(extra_args: list[str], aws: bool, subject: str) -> str:
    """Runs one first delivery of `subject` with `python <extra_args>`; answers its stderr."""
    state = scratch_dir("profile-first-")
    with PlatformStub() as stub, LocalAWS() as local_aws:
        env: dict[str, str] = {
            **os.environ,
            **our_environment(stub.base_url, f"sqlite:///{state}/idempotency.sqlite3"),
            **peer_environment(stub.base_url),
            "BENCH_SIGNATURE": SIGNATURE,
        }
        if aws:
            local_aws.prepare()
            env |= local_aws.our_environment() | local_aws.peer_environment()
        for args in ([], extra_args):  # the first run registers; the second is measured
            completed = run_first_delivery(subject, env, args)
            if completed.returncode != 0:
                raise RuntimeError(completed.stderr)
    return completed.stderr


def imports(aws: bool, subject: str, top: int) -> None:
    """Cumulative import time by top-level package, then the slowest single imports."""
    lines = _first_delivery(["-X", "importtime"], aws, subject).splitlines()
    by_root: defaultdict[str, float] = defaultdict(float)
    single: list[tuple[float, float, str]] = []
    for line in lines:
        if not line.startswith("import time:") or "|" not in line or "self" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[12:].split("|"))
        root = name.strip().split(".")[0]
        by_root[root] += float(self_us)
        single.append((float(cumulative_us), float(self_us), name.rstrip()))
    total = sum(by_root.values())
    print(f"imports: {total / 1000:.0f} ms in all (self times summed)")
    for root, micros in sorted(by_root.items(), key=lambda item: -item[1])[:top]:
        print(f"  {micros / 1000:7.1f} ms  {root}")
    print("slowest imports (cumulative ms, self ms, module):")
    for cumulative, own, name in sorted(single, reverse=True)[:top]:
        print(f"  {cumulative / 1000:7.1f} {own / 1000:7.1f}  {name}")


def first(aws: bool, subject: str, top: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "first.prof")
        _first_delivery(["-m", "cProfile", "-o", output], aws, subject)
        stats = pstats.Stats(output)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiles")
    parser.add_argument("what", choices=("warm", "imports", "first"))
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--aws", action="store_true", help="the AWS configuration")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--subject", choices=("ours", "peer", "bare"), default="ours")
    parser.add_argument(
        "--usage", choices=("on", "off"), default="on", help="warm: DAILYBOT_USAGE_ACTIVITY"
    )
    args = parser.parse_args(argv)
    if args.what == "warm":
        warm(args.deliveries, args.top, args.usage)
    elif args.what == "imports":
        imports(args.aws, args.subject, args.top)
    else:
        first(args.aws, args.subject, args.top)


if __name__ == "__main__":
    main()
