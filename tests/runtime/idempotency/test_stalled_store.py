"""A stalled SQLite store: concurrent deliveries to `chalice local` while another process
holds the store's write lock for longer than Dailybot waits.

Two app processes share the store: one has answered a delivery before (its connection is
open), the other has not (its first deliveries build the runtime and open the file while it
is locked). Each gets three deliveries 50 ms apart. The promise (README, "Security and
bounds") is a 503 `store_unavailable` for each, answered no later than the reply's deadline
less half its margin, counted from the moment the delivery was sent. With the default budget
of 10 s and margin of 1 s that is 9.5 s; the store gives up at the handler's deadline (9 s),
so half the margin is left for the answer to leave. Nothing
is stored for those deliveries: once the lock is gone, each runs.

The apps run with a margin of 4 s rather than the default 1 s: the promise is the same
formula (here 10 - 4/2 = 8 s, the store giving up at 6 s), and the larger margin is what a
deployment would keep on a machine as starved as this one under `make test` (three test
workers and other work on two cores), where answering a 503 and getting it back to the test
has been seen to take more than the default's half second.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.platform_stub import PlatformStub
from tests.runtime.deliveries import SIGNATURE, encode, headers, invocation
from tests.runtime.fake_platform import API_KEY
from tests.servers import ServerProcess, free_port, start_server, stop_child

pytestmark = pytest.mark.e2e

BUDGET = 10.0  # DAILYBOT_REPLY_BUDGET as deployed, and DAILYBOT_REPLY_MARGIN (see above)
MARGIN = 4.0
PROMISED = BUDGET - MARGIN / 2
HELD_SECONDS = 12

# Another process writing: the store's file in WAL mode, its write lock held, then a sleep.
_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[tuple[Path, list[ServerProcess]]]:
    """Two `chalice local` apps on one SQLite store (a stage the config does not define),
    against a local HTTP stand-in for the platform."""
    store = tmp_path / "idempotency.sqlite3"
    started: list[ServerProcess] = []
    with PlatformStub() as platform:
        env = {
            "DAILYBOT_API_URL": platform.base_url,
            "DAILYBOT_API_KEY": API_KEY,
            "DAILYBOT_SIGNATURES": SIGNATURE,
            "IDEMPOTENCY_STORE": f"sqlite:///{store}",
            "JOBS_QUEUE": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
            "DAILYBOT_REPLY_BUDGET": str(BUDGET),
            "DAILYBOT_REPLY_MARGIN": str(MARGIN),
        }
        try:
            for name in ("warm", "cold"):
                port = free_port()
                args = ["-m", "devstack.local_app", "--stage", "stalled", "--port", str(port)]
                started.append(
                    start_server(
                        name, args, port=port, ready_path="/health", log_dir=tmp_path, env=env
                    )
                )
            yield store, started
        finally:
            for app in started:
                app.stop()


def _post(app: ServerProcess, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{app.base_url}/dailybot", content=body, headers=headers(), timeout=30, trust_env=False
    )


def test_concurrent_deliveries_to_a_locked_store_are_refused_within_the_promise(
    apps: tuple[Path, list[ServerProcess]],
) -> None:
    store, (warm, cold) = apps
    assert _post(warm, encode(invocation("vote"))).status_code == 200  # opens the store
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store), str(HELD_SECONDS)], stdout=subprocess.PIPE
    )
    answers: list[tuple[str, int, str, float]] = []
    lock = threading.Lock()
    bodies = {
        (app.name, n): encode(invocation("remember", f"{app.name}{n} v"))
        for n in range(3)
        for app in (warm, cold)
    }

    def deliver(app: ServerProcess, body: bytes) -> None:
        sent = time.monotonic()
        response = _post(app, body)
        elapsed = time.monotonic() - sent
        with lock:
            answers.append((app.name, response.status_code, response.json()["code"], elapsed))

    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        threads = []
        for n in range(3):
            for app in (warm, cold):
                thread = threading.Thread(target=deliver, args=(app, bodies[(app.name, n)]))
                thread.start()
                threads.append(thread)
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop_child(holder)

    assert len(answers) == 6, answers
    assert {(status, code) for _, status, code, _ in answers} == {(503, "store_unavailable")}
    late = [answer for answer in answers if answer[3] > PROMISED]
    assert not late, f"answered after {PROMISED} s: {late}"
    # Nothing was stored for them: now that the lock is gone, each one runs.
    for (name, n), body in bodies.items():
        app = warm if name == "warm" else cold
        assert _post(app, body).json() == {"message": f"Got it: *{name}{n}* is `v`."}
