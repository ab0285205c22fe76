"""The application imported in-process: ``create_app(config)`` and the real-clock scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.state import build_state
from emulator.world import FixtureError
from tests.emulator.emulator_process import fixtures_pointing_to, free_port
from tests.emulator.emulator_world import ACME_KEY, ACME_SIGNATURE, JANE


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """Run ``app`` under uvicorn in a thread of this process."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_create_app_serves_in_process():
    app = create_app(EmulatorConfig(db=":memory:", clock="virtual"))
    with serving(app) as client:
        assert client.get("/_emulator/health").json() == {"status": "ok"}
        assert "/v1/platform/storage/" in client.get("/openapi.json").json()["paths"]


def test_create_app_rejects_bad_fixtures(tmp_path: Path):
    fixtures = tmp_path / "bad.json"
    fixtures.write_text(
        json.dumps({"organizations": [{"uuid": "x", "name": "A", "timezone": "UTC"}]})
    )
    with pytest.raises(FixtureError, match=r"organizations\[0\]"):
        create_app(EmulatorConfig(db=":memory:", fixtures=fixtures))


def test_the_real_clock_fires_due_schedules_in_the_background(
    command_receiver: Any, tmp_path: Path
):
    config = EmulatorConfig(
        db=":memory:",
        clock="real",
        fixtures=fixtures_pointing_to(command_receiver.url, tmp_path),
        scheduler_tick=0.05,
    )
    app = create_app(config)
    with serving(app) as client:
        token = client.post(
            "/v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": ACME_KEY},
            json={"user_uuid": JANE},
        )
        headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": token.json()["token"]}
        created = client.post(
            "/v1/platform/scheduling/",
            headers=headers,
            json={"name": "soon", "execution_frequency": 1, "repeats": 1},
        )
        schedule_uuid = created.json()["uuid"]
        # Make the first run due now instead of waiting a real minute.
        app.state.emulator.database.execute(
            "UPDATE schedules SET next_fire_at = ? WHERE uuid = ?",
            (time.time() - 1, schedule_uuid),
        )
        [request] = command_receiver.wait_for(1)
        assert request.json["scheduled_execution"]["uuid"] == schedule_uuid
        got = client.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers).json()
        assert got["is_active"] is False


def test_deliveries_go_through_a_given_transport():
    received: list[httpx.Request] = []

    def command(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"message": "in process"})

    # The in-process transport's host is not a loopback name: the emulator is told to answer it.
    config = EmulatorConfig(db=":memory:", clock="virtual", allowed_hosts=("emulator.test",))
    state = build_state(config, delivery_transport=httpx.MockTransport(command))
    app = create_app(config, state=state)

    async def invoke() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as c:
            return await c.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"})

    # A thread of its own: an earlier test (a browser's) may leave a loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        answer = thread.submit(asyncio.run, invoke()).result()

    assert answer.json()["reply"] == {"message": "in process"}
    [request] = received
    assert json.loads(request.content)["query"] == "a b"
    assert request.headers["x-dailybot-signature"] == ACME_SIGNATURE
