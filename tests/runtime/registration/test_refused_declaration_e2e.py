"""`make run` with a declaration the platform refuses: the console names the handler, the
playground's activity shows an `error`/`registration_failed` record, and every other
declaration is registered, so the shipped `kudos.posted` handler still gets its events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app import registry
from tests.runtime.registration.conftest import ACME, ACME_COMMAND
from tests.servers import ServerProcess, free_port, start_server

pytestmark = pytest.mark.e2e

DRILLS = "tests.runtime.registration.refusal_drills"
STRICT_HANDLER = f"{DRILLS}.strict_platform"


@dataclass
class RunningStack:
    devstack: ServerProcess
    emulator_url: str

    def control(self, method: str, path: str, body: object = None) -> Any:
        response = httpx.request(
            method, f"{self.emulator_url}/_emulator/{path}", json=body, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response.json() if response.content else None


def _eventually(check: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen:\n{log()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("refused")
    emulator_port, app_port = free_port(), free_port()
    ports = ["--emulator-port", str(emulator_port), "--app-port", str(app_port)]
    devstack = start_server(
        "devstack",
        ["-m", "devstack", *ports],
        port=emulator_port,
        ready_path="/_emulator/health",
        log_dir=tmp,
        env={"DEVSTACK_STATE_DIR": str(tmp / "state"), "DAILYBOT_EXTRA_COMMANDS": DRILLS},
        timeout=60,
    )
    try:
        _eventually(lambda: "playground: " in devstack.log(), "make run starting", devstack.log)
        yield RunningStack(devstack, f"http://127.0.0.1:{emulator_port}")
    finally:
        devstack.stop()


def _schedule_names(stack: RunningStack) -> set[str]:
    return {
        s["name"] for s in stack.control("GET", "schedules") if s["command_uuid"] == ACME_COMMAND
    }


def test_the_refusal_is_on_the_console_and_the_rest_is_registered(stack: RunningStack) -> None:
    answer = stack.control("POST", "invoke", {"intent": "history"})  # the cold start
    assert answer["status_code"] == 200

    refused = (
        "app: self-registration: the platform refused schedule refusal-drill-strict declared by"
        f" {STRICT_HANDLER}: Dailybot API answered 400"
    )
    _eventually(lambda: refused in stack.devstack.log(), "the console line", stack.devstack.log)
    assert {"daily-digest", "refusal-drill-hourly"} <= _schedule_names(stack)
    assert "refusal-drill-strict" not in _schedule_names(stack)
    (hook,) = [h for h in stack.control("GET", "hooks") if h["command_uuid"] == ACME_COMMAND]
    assert sorted(hook["subscriptions"]) == sorted(d.event for d in registry.declared_events())


def test_the_playground_shows_the_refusal_and_events_still_arrive(stack: RunningStack) -> None:
    stack.control("POST", "invoke", {"intent": "history"})
    _eventually(
        lambda: any(
            (r["category"], r["action"], r["label"])
            == ("error", "registration_failed", STRICT_HANDLER)
            for r in stack.control("GET", "activity")
        ),
        "the activity record",
        stack.devstack.log,
    )

    published = stack.control(
        "POST", "events", {"organization_uuid": ACME, "event": "kudos.posted", "body": {}}
    )

    assert published == {"deliveries": 1}
