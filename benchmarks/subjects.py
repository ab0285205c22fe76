"""What the benchmarks measure: our app, the peer and the bare route, driven the same way.

Our app is reached only through its public surface: `app.py`'s route, through
`chalice.test.Client`, configured by the environment variables it documents. The one exception
is `use_in_process_platform`, which gives the runtime an in-process platform for the warm
figures; it is the only place that knows the runtime's modules.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from chalice.app import Chalice
from chalice.test import Client

ROOT: Final = Path(__file__).resolve().parent.parent
SIGNATURE: Final = "bench-signature-0001"
API_KEY: Final = "bench-api-key-0001"
HEADERS: Final = {"Content-Type": "application/json", "X-DailyBot-Signature": SIGNATURE}
# A stage `.chalice/config.json` does not define: its environment must not replace ours.
STAGE: Final = "bench"

_sequence = itertools.count()


def scratch_dir(prefix: str) -> Path:
    """A new temporary folder, removed when this process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def delivery(
    intent: str, query: str = "", *, exchange_token: str = "bench-exchange-token"
) -> bytes:
    """A signed command invocation's body, new every call (its timestamp differs)."""
    # Never the same timestamp twice: a distinct body, so a new delivery to both idempotency
    # layers (the clock alone may repeat a microsecond).
    sent_at = datetime.now(UTC) + timedelta(microseconds=next(_sequence))
    return json.dumps({
        "intent": intent, "query": query, "event_timestamp": sent_at.isoformat(),
        "organization_uuid": "11111111-1111-4111-8111-111111111111",
        "command_uuid": "c0000000-0000-4000-8000-000000000001",
        "user_uuid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "user_full_name": "Jane Doe",
        "exchange_token": exchange_token,
    }).encode()  # fmt: skip


def our_environment(api_url: str, store: str) -> dict[str, str]:
    """Our app's settings for a platform at `api_url` and an idempotency `store` URL."""
    return {
        "DAILYBOT_API_URL": api_url,
        "DAILYBOT_API_KEY": API_KEY,
        "DAILYBOT_SIGNATURES": SIGNATURE,
        "IDEMPOTENCY_STORE": store,
        "POWERTOOLS_SERVICE_NAME": "dailybot-runtime",
        "POWERTOOLS_METRICS_NAMESPACE": "DailybotRuntime/bench",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def peer_environment(api_url: str, store: str = "memory") -> dict[str, str]:
    """The peer's settings, the same platform and secrets (see `peer/app.py`)."""
    return {
        "PEER_API_URL": api_url,
        "PEER_API_KEY": API_KEY,
        "PEER_SIGNATURE": SIGNATURE,
        "PEER_STORE": store,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def load_apps(environment: Mapping[str, str]) -> tuple[Chalice, Chalice, Chalice]:
    """(ours, peer, bare), imported in this process with `environment` set first."""
    os.environ.update(environment)
    # Imported here, once the settings are in place.
    from app import app as ours
    from benchmarks.peer.app import app as peer
    from benchmarks.peer.bare import app as bare

    return ours, peer, bare


def run_first_delivery(
    subject: str, env: Mapping[str, str], python_args: Sequence[str] = (), *, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`python [python_args] -m benchmarks.first_delivery SUBJECT` with a new delivery.

    Its stdout (the app's log lines) is dropped; its stderr is in the answer.
    """
    return subprocess.run(
        [sys.executable, *python_args, "-m", "benchmarks.first_delivery", subject],
        cwd=cwd,
        env={**env, "BENCH_DELIVERY": delivery("remember", "color blue").decode()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )


def use_in_process_platform(transport: httpx.BaseTransport) -> None:
    """Our runtime, built now from the environment, with its platform calls on `transport`.

    The only use of the runtime's internals: its settings offer no in-process platform.
    """
    from app import container, registry
    from chalicelib.runtime.composition import build_runtime

    container.reset(build_runtime(registry, transport=transport))


def give_peer_platform(transport: httpx.BaseTransport) -> None:
    """The peer's platform calls on `transport` (the peer is ours to change)."""
    import benchmarks.peer.app as peer  # imported by now, with its settings

    peer.platform = httpx.Client(base_url=str(peer.platform.base_url), transport=transport)


class Poster:
    """Posts deliveries to one app through `chalice.test.Client`."""

    def __init__(self, app: Chalice) -> None:
        self._client = Client(app, stage_name=STAGE, project_dir=str(ROOT))

    def __call__(self, body: bytes) -> dict[str, Any]:
        response = self._client.http.post("/dailybot", headers=HEADERS, body=body)
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}: {response.body!r}")
        answer = response.json_body
        assert isinstance(answer, dict), answer
        return answer


def posting(post: Poster, intent: str, query: str = "") -> Callable[[], object]:
    """A call that posts a new delivery of `intent` each time."""
    return lambda: post(delivery(intent, query))


def seconds_per_call(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def interleaved(
    calls: Mapping[str, Callable[[], object]], *, rounds: int, per_round: int
) -> dict[str, float]:
    """Median over rounds of each call's mean seconds, the calls taking turns each round."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for number in range(rounds):
        # Rotate who goes first, so none always runs on a warmer (or cooler) machine.
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(seconds_per_call(calls[name], per_round))
    return {name: statistics.median(values) for name, values in times.items()}
