"""`make run ARGS="--clock virtual"` with its second organization: Globex's Kim uses the
deployment's public command from the playground's API, and the declared `daily-digest` fires
in each organization at 09:00 in its own time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.servers import free_port, start_devstack

pytestmark = pytest.mark.e2e

ACME, BOGOTA = "11111111-1111-4111-8111-111111111111", ZoneInfo("America/Bogota")
GLOBEX, TOKYO = "22222222-2222-4222-8222-222222222222", ZoneInfo("Asia/Tokyo")
KIM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"


class Emulator:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.url}/_emulator/{path}", json=body, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def virtual_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator_port = free_port()
    devstack = start_devstack(
        tmp_path_factory.mktemp("make-run-virtual"),
        emulator_port=emulator_port,
        app_port=free_port(),
        extra_args=["--clock", "virtual"],
    )
    try:
        yield Emulator(f"http://127.0.0.1:{emulator_port}")
    finally:
        devstack.stop()


def test_kim_of_globex_uses_the_shipped_commands_in_globex(virtual_stack: Emulator) -> None:
    as_kim = {"user_uuid": KIM, "organization_uuid": GLOBEX}  # as the playground sends it

    stored = virtual_stack.call(
        "POST", "invoke", {"intent": "remember", "query": "color red", **as_kim}
    )
    recalled = virtual_stack.call(
        "POST", "invoke", {"intent": "recall", "query": "color", **as_kim}
    )
    janes = virtual_stack.call("POST", "invoke", {"intent": "recall", "query": "color"})

    assert stored["status_code"] == recalled["status_code"] == 200
    assert recalled["reply"]["message"] == "*color* is `red`."
    assert janes["reply"]["message"] == "Nothing is stored under *color*."


def test_the_declared_digest_fires_at_nine_in_each_organization_s_time_zone(
    virtual_stack: Emulator,
) -> None:
    virtual_stack.call("POST", "invoke", {"intent": "history"})  # Acme's first delivery
    virtual_stack.call(
        "POST", "invoke", {"intent": "history", "user_uuid": KIM, "organization_uuid": GLOBEX}
    )
    digests = {
        s["organization_uuid"]: s
        for s in virtual_stack.call("GET", "schedules")
        if s["name"] == "daily-digest"
    }
    assert set(digests) == {ACME, GLOBEX}

    virtual_stack.call("POST", "clock/advance", {"seconds": 4 * 24 * 3600})

    fired = {
        s["organization_uuid"]: s
        for s in virtual_stack.call("GET", "schedules")
        if s["name"] == "daily-digest"
    }
    for organization, zone in ((ACME, BOGOTA), (GLOBEX, TOKYO)):
        assert fired[organization]["executions"] >= 1
        upcoming = datetime.fromisoformat(fired[organization]["next_fire_at"]).astimezone(zone)
        assert (upcoming.hour, upcoming.minute, upcoming.weekday() < 5) == (9, 0, True)
