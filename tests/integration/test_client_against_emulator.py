"""The platform client against the emulator over real HTTP: endpoints, errors, retries, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.error_mapping import error_from_response
from chalicelib.dailybot.errors import (
    AuthenticationFailed,
    CommandNotPublic,
    InvalidCommandSpecified,
    MissingContext,
    MissingToken,
    MissingTokenOrCommand,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UserNotFound,
    ValidationFailed,
)
from chalicelib.dailybot.models import ActivityEntry, OutgoingMessage, ScheduleSpec
from chalicelib.dailybot.retry import RetryPolicy
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.redaction import Secret
from tests.emulator.emulator_process import EmulatorProcess, start_emulator
from tests.emulator.emulator_world import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_NOSCOPE_KEY,
    GLOBEX_COMMAND,
    JANE,
    KIM,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    tmp = tmp_path_factory.mktemp("client-emulator")
    handle = start_emulator(tmp, extra_args=("--token-ttl", "600"))
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _no_faults_left(emulator: EmulatorProcess) -> Iterator[None]:
    yield
    httpx.delete(f"{emulator.base_url}/_emulator/faults", trust_env=False)


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(
    emulator: EmulatorProcess, key: str = ACME_KEY, sleep: RecordingSleep | None = None
) -> DailybotClient:
    return DailybotClient(
        base_url=f"{emulator.base_url}/v1/",
        api_key=Secret(key),
        sleep=sleep or RecordingSleep(),
        retry_policy=RetryPolicy(max_retry_after_seconds=2.0),
    )


@pytest.fixture
def client(emulator: EmulatorProcess) -> Iterator[DailybotClient]:
    with make_client(emulator) as api:
        yield api


@pytest.fixture
def token(client: DailybotClient) -> Secret:
    return client.fetch_exchange_token(JANE).token


def add_fault(emulator: EmulatorProcess, **fault: object) -> None:
    response = httpx.post(f"{emulator.base_url}/_emulator/faults", json=fault, trust_env=False)
    assert response.status_code < 300, response.text


def test_fetch_exchange_token_with_user_context(client: DailybotClient) -> None:
    grant = client.fetch_exchange_token(JANE, include_user_context=True)
    assert grant.token.reveal()
    assert grant.user_context is not None
    assert "Jane Doe" in str(grant.user_context)


def test_fetch_exchange_token_refusals(emulator: EmulatorProcess, client: DailybotClient) -> None:
    with pytest.raises(UserNotFound):
        client.fetch_exchange_token("99999999-9999-4999-8999-999999999999")
    with pytest.raises(CommandNotPublic):
        client.fetch_exchange_token(KIM)
    with make_client(emulator, ACME_NOSCOPE_KEY) as no_scope, pytest.raises(PermissionDenied):
        no_scope.fetch_exchange_token(JANE)
    with make_client(emulator, "not-a-key") as stranger, pytest.raises(AuthenticationFailed):
        stranger.fetch_exchange_token(JANE)


def test_schedule_lifecycle(client: DailybotClient, token: Secret) -> None:
    uuid = client.create_schedule(
        ScheduleSpec(name="Daily sync", cron="0 9 * * 1-5", payload={"a": 1}), exchange_token=token
    )
    got = client.get_schedule(uuid, exchange_token=token)
    assert (got.uuid, got.name, got.cron, got.repeats, got.execution_frequency) == (
        uuid,
        "Daily sync",
        "0 9 * * 1-5",
        -1,
        0,
    )
    assert got.is_active
    assert got.payload == {"a": 1}
    updated = client.update_schedule(
        uuid, {"cron": "30 10 * * *", "is_active": False}, exchange_token=token
    )
    assert (updated.uuid, updated.cron, updated.is_active) == (uuid, "30 10 * * *", False)
    client.delete_schedule(uuid, exchange_token=token)
    with pytest.raises(NotFound) as lost:
        client.get_schedule(uuid, exchange_token=token)
    assert lost.value.code == "not_found"


def test_schedule_errors(client: DailybotClient, token: Secret) -> None:
    with pytest.raises(MissingTokenOrCommand):
        client.create_schedule(ScheduleSpec(name="x", cron="0 9 * * *"))
    with pytest.raises(InvalidCommandSpecified):
        client.create_schedule(
            ScheduleSpec(name="x", cron="0 9 * * *"), command_uuid=GLOBEX_COMMAND
        )
    with pytest.raises(ValidationFailed):
        client.create_schedule(ScheduleSpec(name="x", cron="not a cron"), exchange_token=token)
    uuid = client.create_schedule(
        ScheduleSpec(name="by command", cron="0 9 * * *"), command_uuid=ACME_COMMAND
    )
    assert client.get_schedule(uuid, exchange_token=token).name == "by command"


def test_storage_with_token_and_with_namespace(client: DailybotClient, token: Secret) -> None:
    assert client.storage_get("color", exchange_token=token) is None
    client.storage_set("color", {"name": "blue"}, exchange_token=token)
    assert client.storage_get("color", exchange_token=token) == {"name": "blue"}
    client.storage_delete("color", exchange_token=token)
    assert client.storage_get("color", exchange_token=token) is None

    client.storage_set("shared", [1, 2], namespace="team")
    assert client.storage_get("shared", namespace="team") == [1, 2]
    assert client.storage_get("shared", exchange_token=token) is None
    with pytest.raises(MissingContext):
        client.storage_get("shared")


def test_event_subscription_register_and_unregister(client: DailybotClient, token: Secret) -> None:
    hook = client.register_event_subscription(["kudos.posted"], exchange_token=token)
    assert hook
    with pytest.raises(ValidationFailed):
        client.register_event_subscription(["no.such.event"], exchange_token=token)
    client.unregister_event_subscription(exchange_token=token)


def test_unregister_without_token_is_refused(emulator: EmulatorProcess) -> None:
    response = httpx.delete(
        f"{emulator.base_url}/v1/platform/event-subscription/",
        headers={"X-API-KEY": ACME_KEY},
        trust_env=False,
    )
    assert response.status_code == 400
    assert isinstance(error_from_response(response), MissingToken)


def test_activity_create_and_list_newest_first(client: DailybotClient, token: Secret) -> None:
    first = client.create_activity(
        ActivityEntry(category="usage", action="triggered", label="one"), exchange_token=token
    )
    client.create_activity(
        ActivityEntry(category="usage", action="triggered", label="two", metadata={"n": 2}),
        exchange_token=token,
    )
    assert (first.category, first.action, first.label, first.command) == (
        "usage",
        "triggered",
        "one",
        ACME_COMMAND,
    )
    records = client.list_activity(exchange_token=token)
    assert [r.label for r in records[:2]] == ["two", "one"]
    assert records[0].metadata == {"n": 2}


def test_send_message_is_recorded(
    emulator: EmulatorProcess, client: DailybotClient, token: Secret
) -> None:
    client.send_message(
        OutgoingMessage(message="Done!", target_users=(JANE,)), exchange_token=token
    )
    messages = httpx.get(f"{emulator.base_url}/_emulator/messages", trust_env=False).json()
    assert "Done!" in str(messages)


def test_rate_limit_waits_retry_after_then_succeeds(emulator: EmulatorProcess) -> None:
    sleep = RecordingSleep()
    with make_client(emulator, sleep=sleep) as api:
        grant = api.fetch_exchange_token(JANE)
        add_fault(emulator, path="/v1/platform/storage/", status=429, times=2, retry_after=1)
        api.storage_set("k", "v", exchange_token=grant.token)
        assert api.storage_get("k", exchange_token=grant.token) == "v"
    assert sleep.waits == [1.0, 1.0]


def test_unavailable_storage_is_retried_but_a_create_is_not(emulator: EmulatorProcess) -> None:
    sleep = RecordingSleep()
    with make_client(emulator, sleep=sleep) as api:
        grant = api.fetch_exchange_token(JANE)
        add_fault(emulator, path="/v1/platform/storage/", status=503, times=1)
        api.storage_set("k2", "v2", exchange_token=grant.token)
        assert len(sleep.waits) == 1

        add_fault(emulator, path="/v1/platform/activity/", status=503, times=1)
        with pytest.raises(ServerError):
            api.create_activity(ActivityEntry(category="c", action="a"), exchange_token=grant.token)
        assert len(sleep.waits) == 1


def test_waits_never_overrun_the_deadline(emulator: EmulatorProcess) -> None:
    sleep = RecordingSleep()
    with make_client(emulator, sleep=sleep) as api:
        grant = api.fetch_exchange_token(JANE)
        add_fault(emulator, path="/v1/platform/storage/", status=429, times=1, retry_after=30)
        with pytest.raises(RateLimited):
            api.storage_get("k", exchange_token=grant.token, deadline=Deadline.after(0.5))
    assert sleep.waits == []


def test_retry_after_longer_than_the_cap_fails_at_once(emulator: EmulatorProcess) -> None:
    sleep = RecordingSleep()
    with make_client(emulator, sleep=sleep) as api:
        grant = api.fetch_exchange_token(JANE)
        add_fault(emulator, path="/v1/platform/storage/", status=429, times=2, retry_after=30)
        with pytest.raises(RateLimited) as caught:
            api.storage_get("k", exchange_token=grant.token, deadline=Deadline.after(60.0))
    assert caught.value.retry_after == 30.0
    assert sleep.waits == []
    # One call reached the platform: the second injected 429 is still waiting for a caller.
    pending = httpx.get(f"{emulator.base_url}/_emulator/faults", trust_env=False).json()
    assert [fault["times"] for fault in pending] == [1]


def test_the_platform_rate_limit_is_not_waited_out(tmp_path: Path) -> None:
    # Three calls a minute per key: the fourth is throttled for about a minute, far over the
    # client's 2 s cap, so it fails at once instead of sleeping.
    handle = start_emulator(tmp_path, extra_args=("--rate-limit", "3"))
    sleep = RecordingSleep()
    try:
        with make_client(handle, sleep=sleep) as api:
            token = api.fetch_exchange_token(JANE).token
            api.storage_set("k", "v", exchange_token=token)
            assert api.storage_get("k", exchange_token=token) == "v"
            with pytest.raises(RateLimited) as caught:
                api.storage_get("k", exchange_token=token)
    finally:
        handle.stop()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 2.0
    assert sleep.waits == []


def test_broker_fetches_once_and_refreshes_an_expired_token(
    tmp_path: Path,
) -> None:
    handle = start_emulator(tmp_path, extra_args=("--token-ttl", "60"))
    try:
        with make_client(handle) as api:
            broker = ExchangeTokenBroker(api, ttl_seconds=3600)
            first = broker.token_for(ACME, JANE)
            assert broker.token_for(ACME, JANE) == first
            session = broker.session(ACME, JANE, delivered=None)
            session.call(lambda t: api.storage_set("x", 1, exchange_token=t))
            # The platform expires the token; the cached one is now refused with a 401.
            advanced = httpx.post(
                f"{handle.base_url}/_emulator/clock/advance", json={"seconds": 120}, trust_env=False
            )
            assert advanced.status_code == 200
            with pytest.raises(AuthenticationFailed):
                api.storage_get("x", exchange_token=first)
            fresh_session = broker.session(ACME, JANE, delivered=first)
            assert fresh_session.call(lambda t: api.storage_get("x", exchange_token=t)) == 1
            assert broker.token_for(ACME, JANE) != first
    finally:
        handle.stop()


def test_connection_refused_is_a_transport_error(tmp_path: Path) -> None:
    from chalicelib.dailybot.errors import ConnectError
    from tests.servers import free_port

    with (
        DailybotClient(
            base_url=f"http://127.0.0.1:{free_port()}/v1/",
            api_key=Secret("local-api-key-acme-0001"),
            sleep=RecordingSleep(),
        ) as api,
        pytest.raises(ConnectError) as refused,
    ):
        api.storage_get("k", namespace="n")
    assert "local-api-key-acme-0001" not in str(refused.value)
