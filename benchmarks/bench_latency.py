"""Reply latency over a slow platform: each platform call takes 50 ms (`platform_stub`).

Our app and the peer answer the same deliveries, taking turns, through `chalice.test.Client`
in this process; their platform is the stub on 127.0.0.1. `remember color blue` makes one
storage call in both, so ours should take about the peer's time; a command that makes no
platform call of its own (`vote` with no words, an unknown command) should take at most about
one round trip, measured by a bare `httpx.Client` call to the stub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import httpx

from benchmarks import report
from benchmarks.platform_stub import PlatformStub
from benchmarks.report import Row, ms
from benchmarks.subjects import (
    API_KEY,
    Poster,
    delivery,
    interleaved,
    load_apps,
    our_environment,
    peer_environment,
    posting,
    scratch_dir,
)

DELAY_SECONDS: Final = 0.050


def main() -> None:
    report.silence_stdout()
    rounds, per_round = (3, 2) if report.quick() else (7, 3)
    state = scratch_dir("bench-latency-")
    with PlatformStub(delay_seconds=DELAY_SECONDS) as stub:
        ours, peer, bare = load_apps({
            **our_environment(stub.base_url, f"sqlite:///{state}/idempotency.sqlite3"),
            **peer_environment(stub.base_url),
        })  # fmt: skip
        post = {"ours": Poster(ours), "peer": Poster(peer), "bare": Poster(bare)}
        platform = httpx.Client(base_url=stub.base_url, headers={"X-API-KEY": API_KEY})

        def round_trip() -> object:
            body = {"op": "get", "params": {"key": "color"}, "namespace": "bench"}
            return platform.post("platform/storage/", json=body).raise_for_status()

        # First deliveries pay for secrets, self-registration and connections: not measured.
        for name in ("ours", "peer"):
            for _ in range(2):
                reply = post[name](delivery("remember", "color blue"))
                assert "color" in str(reply["message"]), reply
        calls: dict[str, Callable[[], object]] = {"round trip": round_trip}
        for name, poster in post.items():
            calls |= {
                f"{name} remember": posting(poster, "remember", "color blue"),
                f"{name} vote": posting(poster, "vote"),
                f"{name} unknown": posting(poster, "dance"),
            }
        times = interleaved(calls, rounds=rounds, per_round=per_round)
        platform.close()

    trip = times["round trip"]
    report.say(f"  one platform round trip (bare httpx): {ms(trip)}")
    report.emit(
        Row(
            "reply to `remember color blue` (one storage call), platform 50 ms a call",
            ms(times["ours remember"]),
            ms(times["peer remember"]),
            ms(times["bare remember"]),
            report.ratio(times["ours remember"], times["peer remember"], "peer"),
            "≤ 1.10x peer",
        )
    )
    for command, label in (("vote", "`vote` (no words)"), ("unknown", "an unknown command")):
        report.emit(
            Row(
                f"reply to {label}, no platform call of its own, platform 50 ms a call",
                ms(times[f"ours {command}"]),
                ms(times[f"peer {command}"]),
                ms(times[f"bare {command}"]),
                report.ratio(times[f"ours {command}"], trip, f"one round trip ({ms(trip)})"),
                "≤ 1.10x one round trip",
            )
        )


if __name__ == "__main__":
    main()
