"""What the `dailybot` test kit costs a test session, and a test with three invocations.

- One-time cost: importing the kit (and the emulator), reading its fixtures and running the
  session's first kit test (a fresh platform, registration, three invocations), measured in
  this process after the app itself is imported (which any test session of the app pays).
- Per test after the first: a fresh platform and runtime, registration, `remember`, `recall`
  and `vote`, and the teardown; the median over many tests.
- Baseline in the same run: the same three deliveries through the app against a platform on
  `httpx.MockTransport` (no emulator, no registration), so the ratio is the kit's own price.

Targets: the one-time cost at most 1 s, a test at most 0.1 s.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks import report
from benchmarks.report import Row

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"

TESTS = 5 if report.quick() else 30
TEXTS = ("remember color blue", "recall color", "vote")
SIGNATURE = "bench-signature-0001"


def median_seconds(run: Callable[[], object], times: int) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def fake_platform(request: httpx.Request) -> httpx.Response:
    body: dict[str, Any] = json.loads(request.content) if request.content else {}
    if request.url.path.endswith("/activity/"):
        return httpx.Response(201, json={
            "command": None, "organization": None, "user": None, "category": "usage",
            "action": "triggered", "label": None, "metadata": {},
            "created_at": "2026-01-01T00:00:00Z",
        })  # fmt: skip
    if body.get("op") == "get":
        return httpx.Response(200, json={body["params"]["key"]: "blue"})
    return httpx.Response(200, json={})


def baseline_test(post: Callable[[bytes], object]) -> None:
    for text in TEXTS:
        intent, _, query = text.partition(" ")
        post(json.dumps({
            "intent": intent, "query": query, "event_timestamp": datetime.now(UTC).isoformat(),
            "organization_uuid": "11111111-1111-4111-8111-111111111111",
            "user_uuid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "user_full_name": "Jane Doe",
            "exchange_token": f"bench-token-{uuid.uuid4().hex}",
        }).encode())  # fmt: skip


def main() -> None:
    import app  # noqa: F401 - the app is what every session of its tests imports anyway

    report.silence_stdout()
    started = time.perf_counter()
    from testkit.deployment import Deployment
    from testkit.kit import open_dailybot
    from testkit.world import DEFAULT_FIXTURES, load_kit_world

    deployment = Deployment.from_module("app")
    world = load_kit_world(DEFAULT_FIXTURES, deployment.registry.commands())

    def kit_test() -> None:
        with open_dailybot(deployment, world) as dailybot:
            for text in TEXTS:
                dailybot.invoke(text)

    kit_test()
    one_time = time.perf_counter() - started
    per_test = median_seconds(kit_test, TESTS)
    baseline = measure_baseline(deployment)
    report.emit(
        Row(
            "test kit: what it adds to a session (imports, first test)",
            report.ms(one_time),
            "",
            "",
            "",
            "≤ 1 s",
        )
    )
    report.emit(
        Row(
            "test kit: a test with three invocations, after the first (fresh platform)",
            report.ms(per_test),
            "",
            f"{report.ms(baseline)} (the deliveries alone, fake platform)",
            f"{per_test / baseline:.1f}x bare",
            "≤ 100 ms",
        )
    )


def measure_baseline(deployment: Any) -> float:
    from chalice.test import Client

    from chalicelib.runtime.composition import build_runtime
    from chalicelib.settings import Settings

    settings = Settings.from_env({
        "DAILYBOT_API_URL": "https://platform.bench/v1/", "DAILYBOT_API_KEY": "bench-api-key-1",
        "DAILYBOT_SIGNATURES": SIGNATURE, "IDEMPOTENCY_STORE": "sqlite:///:memory:",
    })  # fmt: skip
    runtime = build_runtime(
        deployment.registry,
        settings,
        transport=httpx.MockTransport(fake_platform),
        registration=None,
    )
    deployment.container.reset(runtime)
    headers = {"Content-Type": "application/json", "X-DailyBot-Signature": SIGNATURE}
    try:
        with Client(deployment.app, stage_name="bench") as client:

            def post(body: bytes) -> object:
                return client.http.post("/dailybot", headers=headers, body=body)

            baseline_test(post)
            return median_seconds(lambda: baseline_test(post), TESTS)
    finally:
        deployment.container.reset(None)


if __name__ == "__main__":
    main()
