"""`make run`'s app (`devstack.local_app`) answers a burst of concurrent connections.

Plain `chalice local` listens with a backlog of 5: in a burst, the kernel drops the other
connection attempts and each client waits for a SYN retransmission (a second or more) or
gives up. A connect timeout below that second shows whether any attempt was dropped.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

BURST = 50
# Below Linux's first SYN retransmission (1 s): a dropped connection attempt cannot make it.
CONNECT_SECONDS = 0.9


def test_a_burst_of_fifty_connections_is_answered(stack: Stack) -> None:
    barrier = threading.Barrier(BURST)
    answers: list[int | str] = []
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=BURST * 2, max_keepalive_connections=0)
    timeout = httpx.Timeout(30.0, connect=CONNECT_SECONDS)

    with httpx.Client(timeout=timeout, limits=limits, trust_env=False) as client:

        def call() -> None:
            barrier.wait()
            try:
                answer: int | str = client.get(f"{stack.app.base_url}/health").status_code
            except httpx.TransportError as exc:
                answer = type(exc).__name__
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=call) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert answers == [200] * BURST
