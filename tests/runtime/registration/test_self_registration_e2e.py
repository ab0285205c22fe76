"""End to end: the real app under `chalice local` registers itself with the emulator when cold.

Two real processes talk over HTTP: the emulator (virtual clock) and the app. `chalice local`
overwrites the environment with its stage's `environment_variables`, so the app runs from a
scratch project directory whose `.chalice/config.json` points it at this test's emulator and
whose `app.py` and `chalicelib` are links to the real ones. What the app sent to the platform
is counted from the emulator's access log; what the platform holds is read from its database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app import registry
from devstack.stack import CHALICE
from tests.emulator.emulator_process import DEFAULT_FIXTURES, EmulatorProcess, start_emulator
from tests.runtime.registration.conftest import (
    ACME,
    ACME_KEY,
    ACME_SIGNATURE,
    JANE,
    NAMESPACE,
    CountingTransport,
    Platform,
    counted_client,
)
from tests.servers import ROOT, ServerProcess, free_port, start_server

pytestmark = pytest.mark.e2e

BOGOTA = ZoneInfo("America/Bogota")
_ACCESS_LINE = re.compile(r'"(GET|POST|PUT|DELETE) (/v1/[^ ]*) HTTP')


@dataclass
class Stack:
    emulator: EmulatorProcess
    app: ServerProcess
    platform: Platform
    project: Path
    app_port: int
    log_dir: Path

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}/dailybot"

    def control(self, method: str, path: str, body: object = None) -> object:
        with self.emulator.client() as client:
            response = client.request(method, path, json=body)
            response.raise_for_status()
            return response.json() if response.content else None

    def invoke(self, intent: str, query: str = "") -> dict[str, object]:
        answer = self.control(
            "POST", "/_emulator/invoke", {"intent": intent, "query": query, "user_uuid": JANE}
        )
        assert isinstance(answer, dict)
        return answer

    def api_requests(self) -> list[tuple[str, str]]:
        """Every platform API request the emulator served, as (method, path), in order."""
        return [
            (match.group(1), match.group(2)) for match in _ACCESS_LINE.finditer(self.emulator.log())
        ]

    def assert_no_secret_logged(self) -> None:
        log = self.app.log()
        assert "self-registration failed" not in log, log
        for secret in (ACME_KEY, ACME_SIGNATURE):
            assert secret not in log, "a secret reached the app's log"

    def restart_app(self) -> None:
        """A new container: the same deployment, nothing remembered in memory."""
        self.assert_no_secret_logged()
        self.app.stop()
        self.app = _start_app(self.project, self.app_port, self.log_dir)

    def activity(self) -> list[tuple[str, str, str | None]]:
        records = self.platform.client.list_activity(exchange_token=self.platform.tokens().token())
        return [(r.category, r.action, r.label) for r in records]


def _fixtures(app_port: int, directory: Path) -> Path:
    world = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    for command in world["commands"]:
        command["url"] = f"http://127.0.0.1:{app_port}/dailybot"
    path = directory / "fixtures.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path


def _project(directory: Path, emulator: EmulatorProcess, app_port: int) -> Path:
    project = directory / "project"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").symlink_to(ROOT / "app.py")
    (project / "chalicelib").symlink_to(ROOT / "chalicelib")
    environment = {
        "DAILYBOT_API_URL": f"{emulator.base_url}/v1/",
        "DAILYBOT_API_KEY": ACME_KEY,
        "DAILYBOT_SIGNATURES": ACME_SIGNATURE,
        "DAILYBOT_PUBLIC_URL": f"http://127.0.0.1:{app_port}/dailybot",
        "DAILYBOT_REGISTRY_NAMESPACE": NAMESPACE,
        # The emulator's clock is virtual: a scheduled run days ahead is not a replay.
        "DAILYBOT_MAX_DELIVERY_AGE": "0",
        "IDEMPOTENCY_STORE": f"sqlite:///{directory / 'idempotency.sqlite3'}",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    config = {
        "version": "2.0",
        "app_name": "dailybot-runtime",
        "stages": {"dev": {"environment_variables": environment}},
    }
    (project / ".chalice" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return project


def _start_app(project: Path, port: int, log_dir: Path) -> ServerProcess:
    args = [*CHALICE, "--project-dir", str(project), "local", "--no-autoreload"]
    return start_server(
        "chalice",
        [*args, "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        ready_path="/health",
        log_dir=log_dir,
        timeout=60.0,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("self-registration")
    app_port = free_port()
    emulator = start_emulator(directory, fixtures=_fixtures(app_port, directory))
    client = counted_client(f"{emulator.base_url}/v1/", CountingTransport())
    app: ServerProcess | None = None
    try:
        project = _project(directory, emulator, app_port)
        app = _start_app(project, app_port, directory)
        running = Stack(
            emulator,
            app,
            Platform(emulator, client, CountingTransport()),
            project,
            app_port,
            directory,
        )
        # The cold start: the container's first verified delivery.
        assert running.invoke("history")["status_code"] == 200
        yield running
        app = running.app
    finally:
        if app is not None:
            app.stop()
        client.close()
        emulator.stop()


def test_a_cold_start_registers_the_schedule_and_the_hook_exactly_once(stack: Stack) -> None:
    for _ in range(2):
        assert stack.invoke("history")["status_code"] == 200

    (schedule,) = stack.platform.schedules_named("daily-digest")
    assert schedule["cron"] == "0 9 * * 1-5"
    assert schedule["timezone_type"] == "organization_timezone"
    assert schedule["callback_url"] == stack.public_url
    seen = stack.platform.client.get_schedule(
        schedule["uuid"], exchange_token=stack.platform.tokens().token()
    )
    assert seen.name == "daily-digest"
    # Whatever else the deployment declares is registered beside the shipped ones, once.
    declared = [d.name for d in registry.declared_schedules()]
    for name in declared:
        assert len(stack.platform.schedules_named(name)) == 1, name
    events = sorted(d.event for d in registry.declared_events())
    assert "kudos.posted" in events
    (hook,) = stack.platform.hooks()
    assert json.loads(hook["subscriptions"]) == events
    registrations = [
        (method, path)
        for method, path in stack.api_requests()
        if method != "GET"  # the GET above is this test's own
        and path.startswith(("/v1/platform/scheduling/", "/v1/platform/event-subscription/"))
    ]
    assert sorted(registrations) == [
        ("POST", "/v1/platform/event-subscription/"),
        *[("POST", "/v1/platform/scheduling/")] * len(declared),
    ]


def test_the_schedule_fires_on_a_weekday_at_nine_in_bogota_and_the_handler_runs(
    stack: Stack,
) -> None:
    clock = stack.control("GET", "/_emulator/clock")
    assert isinstance(clock, dict)
    now = datetime.fromisoformat(str(clock["now"]))
    target = _next_weekday_nine(now.astimezone(BOGOTA))

    advanced = stack.control(
        "POST", "/_emulator/clock/advance", {"seconds": (target - now).total_seconds()}
    )

    assert isinstance(advanced, dict)
    deliveries = stack.control("GET", "/_emulator/deliveries")
    assert isinstance(deliveries, list)
    (scheduled,) = [
        d
        for d in deliveries
        if d["kind"] == "scheduled_execution"
        and d["body"]["scheduled_execution"]["name"] == "daily-digest"
    ]
    assert scheduled["status"] == 200
    fired_at = datetime.fromisoformat(scheduled["at"]).astimezone(BOGOTA)
    assert (fired_at.weekday() < 5, fired_at.hour, fired_at.minute) == (True, 9, 0)
    assert ("schedule", "fired", "daily-digest") in stack.activity()


def test_a_kudos_event_reaches_the_handler(stack: Stack) -> None:
    published = stack.control(
        "POST",
        "/_emulator/events",
        {"organization_uuid": ACME, "event": "kudos.posted", "body": {"kudos": {"id": 1}}},
    )

    assert published == {"deliveries": 1}
    assert ("event", "kudos.posted", None) in stack.activity()


def test_a_new_container_with_nothing_changed_reads_once_and_writes_nothing(
    stack: Stack,
) -> None:
    stack.restart_app()
    before = len(stack.api_requests())

    assert stack.invoke("history")["status_code"] == 200

    after = stack.api_requests()[before:]
    # The check runs beside the handler and its usage record, so their calls interleave in
    # any order: what is promised is which calls and how many. One storage read of the
    # registration state, nothing written to scheduling or event subscriptions, and the
    # handler's own calls (its usage record and the newest activity records).
    assert sorted(after) == [
        ("GET", "/v1/platform/activity/?limit=5"),
        ("POST", "/v1/platform/activity/"),
        ("POST", "/v1/platform/storage/"),
    ]
    stack.assert_no_secret_logged()
    assert len(stack.platform.schedules_named("daily-digest")) == 1


def _next_weekday_nine(now: datetime) -> datetime:
    candidate = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    while candidate.weekday() >= 5:
        candidate += timedelta(days=1)
    return candidate
