"""Self-registration of a public command, per organization, against the emulator: a cold
container whose first delivery comes from the second organization, two containers, one
organization failing, and `make sync` over every recorded organization."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.runtime.context import PlatformSession, Schedules, Storage
from chalicelib.runtime.registration.cold_start import OrganizationReconciler
from chalicelib.runtime.registration.installations import Reach, open_installations
from chalicelib.runtime.registration.reconciler import (
    STATE_KEY,
    Reconciler,
    desired_registration,
    organization_state_key,
)
from chalicelib.runtime.registration.sync import EXIT_ERROR, EXIT_OK, main
from chalicelib.settings import Settings
from tests.clocks import FakeClock
from tests.emulator.emulator_process import DEFAULT_FIXTURES
from tests.runtime.jobs.messages import command
from tests.runtime.registration.conftest import (
    ACME,
    ACME_KEY,
    JANE,
    NAMESPACE,
    CountingTransport,
    Platform,
    counted_client,
    emulated_platform,
    new_lock,
)
from tests.runtime.registration.test_cold_start import declaring_registry
from tests.runtime.registration.test_sync_cli import PUBLIC_URL, sync_env

GLOBEX = "22222222-2222-4222-8222-222222222222"
KIM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
GONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """The emulator with Acme's command public: Globex's users use it too."""
    world = json.loads(DEFAULT_FIXTURES.read_text(encoding="utf-8"))
    world["commands"][0]["is_public"] = True
    fixtures = tmp_path / "public.json"
    fixtures.write_text(json.dumps(world), encoding="utf-8")
    with emulated_platform(tmp_path, fixtures) as platform:
        yield platform


class Container:
    """One container's reconciler, sharing the lock and installations store with the others."""

    def __init__(self, platform: Platform, store: Path) -> None:
        self.platform = platform
        self.settings = Settings(
            api_url=platform.api_url,
            registry_namespace=NAMESPACE,
            public_url=PUBLIC_URL,
            owner_uuid=JANE,
            owner_organization=ACME,
            idempotency_store=f"sqlite:///{store}",
        )
        self.installations = open_installations(self.settings.idempotency_store)
        self.reconciler = OrganizationReconciler(
            self.settings,
            declaring_registry(),
            new_lock(store),
            FakeClock(),
            installations=self.installations,
            wall_clock=FakeClock(),
        )

    def deliver(self, organization: str, user: str) -> None:
        """A verified delivery from `user` in `organization`, with a token of theirs."""
        broker = ExchangeTokenBroker(self.platform.client, ttl_seconds=900)
        session = PlatformSession(
            self.platform.client,
            broker.session(organization, user, delivered=None),
            Deadline.after(3.0),
        )
        delivery = command("history", organization_uuid=organization, user_uuid=user)
        self.reconciler.check(delivery, session)


def copies(platform: Platform) -> dict[str, tuple[int, int]]:
    """Per organization: how many `daily-digest` schedules and hooks the platform holds."""
    found: dict[str, tuple[int, int]] = {}
    for organization in (ACME, GLOBEX):
        schedules = platform.rows(
            "SELECT * FROM schedules WHERE name = ? AND organization_uuid = ?",
            "daily-digest",
            organization,
        )
        hooks = platform.rows("SELECT * FROM hooks WHERE organization_uuid = ?", organization)
        found[organization] = (len(schedules), len(hooks))
    return found


def test_a_cold_container_whose_first_delivery_is_from_the_second_organization(
    platform: Platform, tmp_path: Path
) -> None:
    first, second = (
        Container(platform, tmp_path / "store.sqlite3"),
        Container(platform, tmp_path / "store.sqlite3"),
    )

    first.deliver(GLOBEX, KIM)  # the cold container's very first delivery: Globex's
    assert copies(platform) == {ACME: (0, 0), GLOBEX: (1, 1)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for container in (first, second, first, second):
            pool.submit(container.deliver, ACME, JANE)
        pool.submit(second.deliver, GLOBEX, KIM)

    assert copies(platform) == {ACME: (1, 1), GLOBEX: (1, 1)}
    assert {i.organization_uuid: i.user_uuid for i in first.installations.all()} == {
        GLOBEX: KIM,
        ACME: JANE,
    }
    # Each organization's hook was registered as one of its own users.
    hooks = platform.rows("SELECT organization_uuid, user_uuid FROM hooks ORDER BY 1")
    assert [(h["organization_uuid"], h["user_uuid"]) for h in hooks] == [
        (ACME, JANE),
        (GLOBEX, KIM),
    ]


def test_the_installation_is_recorded_while_the_registration_is_read(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply may wait for the check: the store's write and the platform's read overlap."""
    container = Container(platform, tmp_path / "store.sqlite3")
    reading = threading.Event()
    overlapped: list[bool] = []
    send = platform.transport.handle_request

    def handle_request(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/platform/storage/"):
            reading.set()
        return send(request)

    record = container.installations.seen

    def seen(organization_uuid: str, user_uuid: str | None, at: float) -> None:
        # In series (record, then reconcile) the read could not start before this returns.
        overlapped.append(reading.wait(timeout=5.0))
        record(organization_uuid, user_uuid, at)

    monkeypatch.setattr(platform.transport, "handle_request", handle_request)
    monkeypatch.setattr(container.installations, "seen", seen)

    container.deliver(ACME, JANE)

    assert overlapped == [True]
    installation = container.installations.get(ACME)
    assert installation is not None
    assert installation.user_uuid == JANE
    assert copies(platform)[ACME] == (1, 1)


def _register_as_before(platform: Platform, store: Path) -> None:
    """What a deployment from before per-organization state did: one state key, written in
    the owner's organization's storage."""
    desired = desired_registration(declaring_registry(), PUBLIC_URL)
    reconciler = Reconciler(namespace=NAMESPACE, lock=new_lock(store))
    result = reconciler.reconcile(desired, platform.session(deadline=Deadline.after(3.0)))
    assert result.done


def _stored(platform: Platform, key: str) -> object:
    return Storage(platform.session(), namespace=NAMESPACE).get(key)


def test_the_owner_s_organization_takes_over_the_state_of_an_older_deployment(
    platform: Platform, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    _register_as_before(platform, store)
    assert copies(platform)[ACME] == (1, 1)
    container = Container(platform, store)

    container.deliver(ACME, JANE)

    assert copies(platform)[ACME] == (1, 1)  # nothing registered twice
    assert _stored(platform, organization_state_key(ACME)) == _stored(platform, STATE_KEY)
    platform.transport.clear()
    Container(platform, store).deliver(ACME, JANE)  # a later container: the new key only
    assert [r.path for r in platform.transport.sent if "storage" in r.path] == [
        "/v1/platform/storage/"
    ]
    assert platform.transport.writes() == []


def test_make_sync_takes_over_the_state_of_an_older_deployment(
    platform: Platform, tmp_path: Path
) -> None:
    _register_as_before(platform, tmp_path / "idempotency.sqlite3")
    out = io.StringIO()

    status = main(
        [],
        declarations=declaring_registry(),
        env=sync_env(platform, tmp_path),
        transport=platform.transport,
        out=out,
        err=io.StringIO(),
    )

    assert status == EXIT_OK
    assert copies(platform)[ACME] == (1, 1)
    assert _stored(platform, organization_state_key(ACME)) == _stored(platform, STATE_KEY)


def test_an_adopted_schedule_the_organization_does_not_hold_is_created_again(
    platform: Platform, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    _register_as_before(platform, store)
    [schedule] = platform.schedules_named("daily-digest")
    Schedules(platform.session()).delete(schedule["uuid"])

    Container(platform, store).deliver(ACME, JANE)

    assert copies(platform)[ACME] == (1, 1)
    [again] = platform.schedules_named("daily-digest")
    assert again["uuid"] != schedule["uuid"]


def test_another_organization_never_takes_over_the_older_state(
    platform: Platform, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    _register_as_before(platform, store)

    Container(platform, store).deliver(GLOBEX, KIM)

    assert copies(platform) == {ACME: (1, 1), GLOBEX: (1, 1)}


def test_one_organization_failing_never_stops_another(platform: Platform, tmp_path: Path) -> None:
    container = Container(platform, tmp_path / "store.sqlite3")

    container.deliver(GLOBEX, GONE)  # no such user there: no token, the reconcile fails
    container.deliver(ACME, JANE)

    assert copies(platform) == {ACME: (1, 1), GLOBEX: (0, 0)}
    assert not container.reconciler.due(ACME)
    assert container.reconciler.due(GLOBEX) is False  # waits a while before trying again


def test_make_sync_reconciles_every_recorded_organization_and_reports_each(
    platform: Platform, tmp_path: Path
) -> None:
    store = tmp_path / "idempotency.sqlite3"
    installations = open_installations(f"sqlite:///{store}")
    installations.seen(GLOBEX, KIM, 1.0)
    installations.seen("33333333-3333-4333-8333-333333333333", GONE, 2.0)
    out, err = io.StringIO(), io.StringIO()

    status = main(
        [],
        declarations=declaring_registry(),
        env=sync_env(platform, tmp_path),
        transport=platform.transport,
        out=out,
        err=err,
    )

    report = out.getvalue()
    assert status == EXIT_ERROR  # one organization failed; the others are done
    assert f"organization {GLOBEX} (as {KIM})" in report
    assert f"organization {ACME} (as {JANE}, the owner's)" in report
    assert report.splitlines()[-1] == "3 organization(s): 2 done, 1 failed"
    assert copies(platform) == {ACME: (1, 1), GLOBEX: (1, 1)}
    (problem,) = err.getvalue().splitlines()
    assert problem.startswith(
        "sync: error: organization 33333333-3333-4333-8333-333333333333: could not fetch"
    )
    gone = installations.get("33333333-3333-4333-8333-333333333333")
    assert gone is not None
    assert gone.reach is Reach.USER_GONE

    again = io.StringIO()
    assert (
        main(
            ["--organization", GLOBEX, "--dry-run"],
            declarations=declaring_registry(),
            env=sync_env(platform, tmp_path),
            transport=platform.transport,
            out=again,
            err=io.StringIO(),
        )
        == EXIT_OK
    )
    assert f"organization {GLOBEX}" in again.getvalue()
    assert f"organization {ACME}" not in again.getvalue()
    assert "  up to date: 0 created" in again.getvalue() or "  plan: 0 created" in again.getvalue()


def test_acme_s_key_fetches_tokens_for_globex_users_of_a_public_command(
    platform: Platform,
) -> None:
    client = counted_client(platform.api_url, CountingTransport())
    try:
        assert client.fetch_exchange_token(KIM).token.reveal()
    finally:
        client.close()
    assert ACME_KEY
