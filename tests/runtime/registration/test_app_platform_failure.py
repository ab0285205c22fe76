"""Through the Chalice app: a platform failure during the cold-start reconcile never fails the
delivery that triggered it. The emulator's storage answers 503; the command still answers, the
failure is logged and counted in `ReconcileErrors`, and a later delivery registers everything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app, container
from chalicelib.redaction import Secret
from chalicelib.runtime.composition import build_runtime
from chalicelib.runtime.registration.cold_start import OrganizationReconciler
from chalicelib.runtime.registry import registry
from chalicelib.settings import AcceptedSignature, Settings
from tests.clocks import FakeClock
from tests.runtime.registration.conftest import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_SIGNATURE,
    JANE,
    NAMESPACE,
    Platform,
    new_lock,
)

PERIOD = 600.0


class App:
    """The real app, its runtime wired to the emulator, and the cold-start hook's clock."""

    def __init__(self, platform: Platform, tmp_path: Path) -> None:
        self.platform = platform
        self.clock = FakeClock()
        settings = Settings(
            api_url=platform.api_url,
            api_key=Secret(ACME_KEY),
            signatures=(AcceptedSignature(Secret(ACME_SIGNATURE)),),
            idempotency_store=f"sqlite:///{tmp_path / 'idempotency.sqlite3'}",
            registry_namespace=NAMESPACE,
            reconcile_period_seconds=PERIOD,
            public_url="http://127.0.0.1:8999/dailybot",
        )
        # The deployment's own check (its metric and log), on a clock the test can move.
        self.hook = OrganizationReconciler(
            settings,
            registry,
            new_lock(tmp_path / "idempotency.sqlite3"),
            self.clock,
        )
        self.runtime = build_runtime(registry, settings, registration=self.hook)

    def invoke(self, intent: str) -> Any:
        token = self.platform.client.fetch_exchange_token(JANE).token.reveal()
        body = {
            "intent": intent,
            "query": "",
            "event_timestamp": datetime.now(UTC).isoformat(),
            "organization_uuid": ACME,
            "user_uuid": JANE,
            "user_full_name": "Jane Doe",
            "command_uuid": ACME_COMMAND,
            "exchange_token": token,
            "nonce": time.monotonic_ns(),  # every call is a new delivery
        }
        with Client(app, stage_name="test") as client:
            return client.http.post(
                "/dailybot",
                body=json.dumps(body).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-DailyBot-Signature": ACME_SIGNATURE,
                },
            )


@pytest.fixture
def running(platform: Platform, tmp_path: Path) -> Iterator[App]:
    running = App(platform, tmp_path)
    container.reset(running.runtime)
    try:
        yield running
    finally:
        container.reset(None)


def _emitted_metrics(out: str) -> set[str]:
    names: set[str] = set()
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            names |= {metric["Name"] for metric in directive["Metrics"]}
    return names


def test_failing_storage_during_the_cold_start_does_not_fail_the_delivery(
    running: App, capsys: pytest.CaptureFixture[str]
) -> None:
    with running.platform.control() as control:
        control.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/storage/", "status": 503, "times": 100},
        ).raise_for_status()
        capsys.readouterr()

        response = running.invoke("history")

        control.delete("/_emulator/faults").raise_for_status()
    out = capsys.readouterr().out

    assert response.status_code == 200
    # The command's own answer, not the failure reply.
    assert response.json_body["message"].startswith(("Last ", "No activity recorded yet."))
    assert "self-registration failed; it will be tried again" in out
    assert "ReconcileErrors" in _emitted_metrics(out)
    assert running.platform.schedules_named("daily-digest") == []

    # Tried again by a later delivery, once the failure backoff has passed.
    running.clock.now += 61
    assert running.invoke("history").status_code == 200

    assert len(running.platform.schedules_named("daily-digest")) == 1
    assert len(running.platform.hooks()) == 1


def test_a_failing_event_subscription_does_not_fail_the_delivery_either(
    running: App, capsys: pytest.CaptureFixture[str]
) -> None:
    with running.platform.control() as control:
        control.post(
            "/_emulator/faults",
            json={"path": "/v1/platform/event-subscription/", "status": 500, "times": 100},
        ).raise_for_status()

        response = running.invoke("history")

        control.delete("/_emulator/faults").raise_for_status()

    assert response.status_code == 200
    assert "self-registration failed" in capsys.readouterr().out
    # What was created before the failure is kept; the retry only adds the hook.
    assert len(running.platform.schedules_named("daily-digest")) == 1
    running.clock.now += 61
    assert running.invoke("history").status_code == 200
    assert len(running.platform.schedules_named("daily-digest")) == 1
    assert len(running.platform.hooks()) == 1
