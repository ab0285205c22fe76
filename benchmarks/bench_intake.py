"""Warm intake per delivery: our app (SQLite store) against the peer and a bare Chalice route.

All three answer in this process through `chalice.test.Client`, taking turns. The delivery is
`vote` with no words (a reply with buttons and no platform call of the command's own); the
platform answers in process (`PlatformAnswers.transport()`, no network time), so what is left
is each app's own cost: verification, parsing, idempotency, logging, metrics, the usage
record. A duplicate (the stored reply) is measured too. Log and EMF lines are written to
/dev/null, as they would be to Lambda's log pipe.
"""

from __future__ import annotations

from benchmarks import report
from benchmarks.platform_stub import PlatformAnswers
from benchmarks.report import Row, us
from benchmarks.subjects import (
    Poster,
    delivery,
    give_peer_platform,
    interleaved,
    load_apps,
    our_environment,
    peer_environment,
    scratch_dir,
    use_in_process_platform,
)


def main() -> None:
    report.silence_stdout()
    rounds, per_round = (3, 60) if report.quick() else (7, 150)
    state = scratch_dir("bench-intake-")
    answers = PlatformAnswers()
    api_url = "https://platform.bench/v1/"
    ours, peer, bare = load_apps({
        **our_environment(api_url, f"sqlite:///{state}/idempotency.sqlite3"),
        **peer_environment(api_url),
    })  # fmt: skip
    use_in_process_platform(answers.transport())
    give_peer_platform(answers.transport())
    post = {"ours": Poster(ours), "peer": Poster(peer), "bare": Poster(bare)}
    repeated = delivery("vote")
    for name in ("ours", "peer", "bare"):
        post[name](repeated)
        for _ in range(50):
            post[name](delivery("vote"))
    calls = {f"{name} new": lambda p=poster: p(delivery("vote")) for name, poster in post.items()}
    calls |= {f"{name} duplicate": lambda p=post[name]: p(repeated) for name in ("ours", "peer")}
    times = interleaved(calls, rounds=rounds, per_round=per_round)
    bare_s = times["bare new"]
    for kind in ("new", "duplicate"):
        report.emit(
            Row(
                f"warm intake, {kind} delivery (SQLite store; peer in memory), per delivery",
                us(times[f"ours {kind}"]),
                us(times[f"peer {kind}"]),
                us(bare_s),
                report.ratio(times[f"ours {kind}"], times[f"peer {kind}"], "peer")
                + f", {times[f'ours {kind}'] / bare_s:.1f}x bare",
                "≤ 2x peer" if kind == "new" else "",
            )
        )


if __name__ == "__main__":
    main()
