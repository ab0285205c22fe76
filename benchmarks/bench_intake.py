"""Per-delivery overhead of the intake (SQLite store) as a ratio to a bare Chalice route.

Both run in this process through `chalice.test.Client`: the bare app answers a constant; the
runtime verifies, parses, checks freshness, claims and completes an idempotency record in
SQLite, records usage and runs a command that answers a constant, against an in-process
platform on `httpx.MockTransport` (so no network time is counted). A duplicate delivery (the
stored reply) is measured too. Log and metric lines are formatted but not printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"

ROUNDS = 5
PER_ROUND = 200
SIGNATURE = "bench-signature-0001"


def platform(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={
        "command": None, "organization": None, "user": None, "category": "usage",
        "action": "triggered", "label": "ping", "metadata": {},
        "created_at": "2026-01-01T00:00:00Z",
    })  # fmt: skip


def body() -> bytes:
    return json.dumps({
        "intent": "ping", "query": uuid.uuid4().hex,
        "event_timestamp": datetime.now(UTC).isoformat(),
        "organization_uuid": "11111111-1111-4111-8111-111111111111",
        "user_uuid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "user_full_name": "Jane Doe",
        "exchange_token": "bench-exchange-token",
    }).encode()  # fmt: skip


def per_call_us(call: Callable[[], object]) -> float:
    """Median over rounds of the mean time per call, in microseconds."""
    for _ in range(20):
        call()
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            call()
        rounds.append((time.perf_counter() - started) / PER_ROUND * 1e6)
    return statistics.median(rounds)


def main() -> None:
    from chalice.app import Chalice
    from chalice.test import Client

    state = tempfile.mkdtemp(prefix="bench-intake-")
    os.environ.update({
        "DAILYBOT_API_URL": "https://platform.bench/v1/", "DAILYBOT_API_KEY": "bench-api-key-0001",
        "DAILYBOT_SIGNATURES": SIGNATURE, "IDEMPOTENCY_STORE": f"sqlite:///{state}/bench.sqlite3",
    })  # fmt: skip

    from app import app, container
    from chalicelib.runtime.composition import build_runtime
    from chalicelib.runtime.context import Context
    from chalicelib.runtime.registry import CommandRegistry

    commands = CommandRegistry()

    @commands.command("ping")
    def ping(ctx: Context) -> str:
        return "pong"

    container.reset(
        build_runtime(commands, transport=httpx.MockTransport(platform), registration=None)
    )
    bare = Chalice(app_name="bare")

    @bare.route("/dailybot", methods=["POST"])
    def constant() -> dict[str, str]:
        return {"message": "pong"}

    headers = {"Content-Type": "application/json", "X-DailyBot-Signature": SIGNATURE}
    repeated = body()
    with (
        Client(bare) as bare_client,
        Client(app) as app_client,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        app_client.http.post("/dailybot", headers=headers, body=repeated)
        baseline = per_call_us(
            lambda: bare_client.http.post("/dailybot", headers=headers, body=body())
        )
        fresh = per_call_us(lambda: app_client.http.post("/dailybot", headers=headers, body=body()))
        duplicate = per_call_us(
            lambda: app_client.http.post("/dailybot", headers=headers, body=repeated)
        )
    rows = [
        ("bare Chalice route (constant)", baseline),
        ("runtime, new delivery (SQLite)", fresh),
        ("runtime, duplicate (stored reply)", duplicate),
    ]
    for name, micros in rows:
        print(f"{name:<36}{micros:9.1f} µs/delivery   ratio {micros / baseline:5.1f}x")
    print(f"intake overhead per new delivery   {fresh - baseline:9.1f} µs")


if __name__ == "__main__":
    main()
