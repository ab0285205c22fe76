"""Exchange tokens: caching per (organization, user), expiry, single flight, refresh on 401."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.models import ExchangeTokenGrant
from chalicelib.dailybot.tokens import ExchangeTokenBroker, TokenSession
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import FakeClock, ScriptedPlatform, answer

ORG = "11111111-1111-4111-8111-111111111111"
JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
JOHN = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


class CountingSource:
    """A token source that hands out token-1, token-2, ... and can be made slow."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.fetches: list[str] = []
        self.lock = threading.Lock()

    def fetch_exchange_token(
        self,
        user_uuid: str,
        *,
        include_user_context: bool = False,
        deadline: Deadline | None = None,
    ) -> ExchangeTokenGrant:
        with self.lock:
            self.fetches.append(user_uuid)
            number = len(self.fetches)
        if self.delay:
            time.sleep(self.delay)
        return ExchangeTokenGrant(token=Secret(f"token-{number}-for-{user_uuid[:4]}"))


def test_token_is_cached_per_organization_and_user_until_it_expires(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)

    first = broker.token_for(ORG, JANE)
    assert broker.token_for(ORG, JANE) is first
    john = broker.token_for(ORG, JOHN)
    assert john != first
    other_org = broker.token_for("other-org", JANE)
    assert other_org != first
    assert source.fetches == [JANE, JOHN, JANE]

    clock.now += 59.9
    assert broker.token_for(ORG, JANE) is first
    clock.now += 0.1
    renewed = broker.token_for(ORG, JANE)
    assert renewed != first
    assert len(source.fetches) == 4


def test_invalidate_forgets_the_token(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    first = broker.token_for(ORG, JANE)

    broker.invalidate(ORG, JANE)
    broker.invalidate(ORG, "nobody")

    assert broker.token_for(ORG, JANE) != first


def test_invalidating_a_stale_token_keeps_a_newer_one(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    stale = broker.token_for(ORG, JANE)
    broker.invalidate(ORG, JANE, token=stale)
    fresh = broker.token_for(ORG, JANE)

    broker.invalidate(ORG, JANE, token=stale)

    assert broker.token_for(ORG, JANE) is fresh
    assert len(source.fetches) == 2


def test_concurrent_callers_share_one_fetch() -> None:
    source = CountingSource(delay=0.05)
    broker = ExchangeTokenBroker(source, ttl_seconds=60)
    start = threading.Barrier(8)
    tokens: list[Secret] = []

    def worker() -> None:
        start.wait()
        tokens.append(broker.token_for(ORG, JANE))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert source.fetches == [JANE]
    assert len(tokens) == 8
    assert len(set(tokens)) == 1


def test_concurrent_callers_for_different_users_do_not_wait_for_each_other() -> None:
    in_fetch = {JANE: threading.Event(), JOHN: threading.Event()}
    overlapped: list[bool] = []

    class OverlapSource(CountingSource):
        def fetch_exchange_token(
            self,
            user_uuid: str,
            *,
            include_user_context: bool = False,
            deadline: Deadline | None = None,
        ) -> ExchangeTokenGrant:
            in_fetch[user_uuid].set()
            # Each fetch waits until the other user's fetch has begun: only possible if
            # neither holds a lock the other needs.
            other = JOHN if user_uuid == JANE else JANE
            overlapped.append(in_fetch[other].wait(timeout=5))
            return super().fetch_exchange_token(user_uuid)

    source = OverlapSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60)
    threads = [threading.Thread(target=broker.token_for, args=(ORG, user)) for user in (JANE, JOHN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(source.fetches) == [JANE, JOHN]
    assert overlapped == [True, True]


def test_waiting_for_another_callers_fetch_respects_the_deadline() -> None:
    release = threading.Event()
    fetching = threading.Event()

    class BlockedSource(CountingSource):
        def fetch_exchange_token(
            self,
            user_uuid: str,
            *,
            include_user_context: bool = False,
            deadline: Deadline | None = None,
        ) -> ExchangeTokenGrant:
            fetching.set()
            release.wait(timeout=5)
            return super().fetch_exchange_token(user_uuid)

    broker = ExchangeTokenBroker(BlockedSource(), ttl_seconds=60)
    holder = threading.Thread(target=broker.token_for, args=(ORG, JANE))
    holder.start()
    assert fetching.wait(timeout=5)
    try:
        with pytest.raises(errors.DeadlineExceeded):
            broker.token_for(ORG, JANE, deadline=Deadline.after(0.05))
        with pytest.raises(errors.DeadlineExceeded):
            broker.token_for(ORG, JANE, deadline=Deadline.after(0))
    finally:
        release.set()
        holder.join(timeout=10)
    assert broker.token_for(ORG, JANE, deadline=Deadline.never()) == Secret("token-1-for-aaaa")


def user(number: int) -> str:
    return f"{number:08x}-0000-4000-8000-000000000000"


def test_many_users_never_grow_the_cache_past_its_bound(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=600, max_entries=16, clock=clock)

    sizes = []
    for number in range(1000):
        broker.token_for(ORG, user(number))
        sizes.append(broker.cached_users)

    assert sizes[:16] == list(range(1, 17))
    assert set(sizes[16:]) == {16}
    # The sixteen most recent users are still cached; the oldest ones were evicted.
    for number in range(984, 1000):
        broker.token_for(ORG, user(number))
    assert len(source.fetches) == 1000
    broker.token_for(ORG, user(0))
    assert source.fetches[-1] == user(0)
    assert len(source.fetches) == 1001


def test_the_least_recently_used_user_is_evicted_first(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=600, max_entries=2, clock=clock)
    jane = broker.token_for(ORG, JANE)
    broker.token_for(ORG, JOHN)

    assert broker.token_for(ORG, JANE) is jane  # Jane is now the most recently used
    broker.token_for("other-org", JANE)  # evicts John, not Jane

    assert broker.token_for(ORG, JANE) is jane
    broker.token_for(ORG, JOHN)
    assert source.fetches == [JANE, JOHN, JANE, JOHN]
    assert broker.cached_users == 2


def test_expired_entries_leave_the_cache_before_the_bound_is_reached(clock: FakeClock) -> None:
    broker = ExchangeTokenBroker(CountingSource(), ttl_seconds=60, max_entries=100, clock=clock)
    for number in range(10):
        broker.token_for(ORG, user(number))
    assert broker.cached_users == 10

    clock.now += 60
    broker.token_for(ORG, JANE)

    assert broker.cached_users == 1


def test_expired_entries_behind_a_fresh_one_wait_for_their_turn(clock: FakeClock) -> None:
    broker = ExchangeTokenBroker(CountingSource(), ttl_seconds=60, max_entries=100, clock=clock)
    broker.token_for(ORG, JANE)
    clock.now += 30
    broker.token_for(ORG, JOHN)
    clock.now += 31  # Jane's token expired, John's has not

    broker.token_for("other-org", JANE)

    assert broker.cached_users == 2  # Jane dropped; John and the new entry stay


def test_a_cache_of_size_zero_still_answers_every_caller(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, max_entries=0, clock=clock)

    assert broker.token_for(ORG, JANE) == Secret("token-1-for-aaaa")
    assert broker.token_for(ORG, JANE) == Secret("token-2-for-aaaa")
    assert broker.cached_users == 0


def test_concurrent_users_keep_the_bound_and_get_their_own_tokens() -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=600, max_entries=8)
    start = threading.Barrier(16)
    seen: list[int] = []
    wrong: list[tuple[str, str]] = []

    def worker(offset: int) -> None:
        start.wait()
        for number in range(offset, 4000, 16):
            uuid = user(number % 40)
            token = broker.token_for(ORG, uuid).reveal()
            if not token.endswith(f"-for-{uuid[:4]}"):
                wrong.append((uuid, token))
            seen.append(broker.cached_users)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(seen) == 4000
    assert max(seen) <= 8
    assert wrong == []
    assert broker.cached_users == 8


def test_a_failed_fetch_is_not_cached(clock: FakeClock) -> None:
    calls = []

    class FlakySource:
        def fetch_exchange_token(
            self,
            user_uuid: str,
            *,
            include_user_context: bool = False,
            deadline: Deadline | None = None,
        ) -> ExchangeTokenGrant:
            calls.append(user_uuid)
            if len(calls) == 1:
                raise errors.ServerError(503)
            return ExchangeTokenGrant(token=Secret("second-token"))

    broker = ExchangeTokenBroker(FlakySource(), ttl_seconds=60, clock=clock)
    with pytest.raises(errors.ServerError):
        broker.token_for(ORG, JANE)
    assert broker.token_for(ORG, JANE) == Secret("second-token")


def test_broker_fetches_through_the_client(clock: FakeClock) -> None:
    platform = ScriptedPlatform([answer(200, {"token": "fetched-token-123"})])
    client = DailybotClient(
        base_url="https://api.test/v1/",
        api_key=Secret("test-api-key-0123456789"),
        transport=httpx.MockTransport(platform),
    )
    broker = ExchangeTokenBroker(client, ttl_seconds=900, clock=clock)

    assert broker.token_for(ORG, JANE) == Secret("fetched-token-123")
    assert broker.token_for(ORG, JANE) == Secret("fetched-token-123")
    assert len(platform.requests) == 1
    assert platform.bodies() == [{"user_uuid": JANE}]


# -- sessions ------------------------------------------------------------------------------


def test_session_prefers_the_delivered_token(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    delivered = Secret("delivered-token")

    session = broker.session(ORG, JANE, delivered=delivered)

    assert session.token() is delivered
    assert session.call(lambda token: token.reveal()) == "delivered-token"
    assert source.fetches == []
    assert session.user_uuid == JANE


def test_session_without_delivered_token_uses_the_broker(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)

    session = broker.session(ORG, JANE, delivered=None)

    assert session.token() == Secret("token-1-for-aaaa")
    assert session.token() == Secret("token-1-for-aaaa")
    assert broker.session(ORG, JANE, delivered=Secret("")).token() == Secret("token-1-for-aaaa")
    assert source.fetches == [JANE]


def test_session_without_token_or_user_cannot_give_a_token(clock: FakeClock) -> None:
    broker = ExchangeTokenBroker(CountingSource(), ttl_seconds=60, clock=clock)

    with pytest.raises(errors.ExchangeTokenUnavailable):
        broker.session(ORG, None, delivered=None).token()


def test_session_refreshes_once_after_a_401_and_retries_once(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    session = broker.session(ORG, JANE, delivered=Secret("expired-delivered-token"))
    seen: list[str] = []

    def call(token: Secret) -> str:
        seen.append(token.reveal())
        if token.reveal() == "expired-delivered-token":
            raise errors.AuthenticationFailed(401, code="invalid_token")
        return "ok"

    assert session.call(call) == "ok"
    assert seen == ["expired-delivered-token", "token-1-for-aaaa"]
    # The session keeps the fresh token for its later calls.
    assert session.token() == Secret("token-1-for-aaaa")


def test_session_refreshes_a_cached_token_the_platform_rejected(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    stale = broker.token_for(ORG, JANE)

    def call(token: Secret) -> Secret:
        if token == stale:
            raise errors.AuthenticationFailed(401)
        return token

    assert broker.session(ORG, JANE, delivered=None).call(call) == Secret("token-2-for-aaaa")
    # Other sessions now get the fresh token from the cache.
    assert broker.token_for(ORG, JANE) == Secret("token-2-for-aaaa")


def test_session_gives_up_after_the_second_401(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    attempts: list[Secret] = []

    def call(token: Secret) -> None:
        attempts.append(token)
        raise errors.AuthenticationFailed(401)

    with pytest.raises(errors.AuthenticationFailed):
        broker.session(ORG, JANE, delivered=Secret("delivered-token")).call(call)

    assert len(attempts) == 2
    assert source.fetches == [JANE]


def test_session_without_user_cannot_refresh(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)
    attempts: list[Secret] = []

    def call(token: Secret) -> None:
        attempts.append(token)
        raise errors.AuthenticationFailed(401)

    with pytest.raises(errors.AuthenticationFailed):
        broker.session(ORG, None, delivered=Secret("delivered-token")).call(call)

    assert len(attempts) == 1
    assert source.fetches == []


def test_other_errors_are_not_refreshed(clock: FakeClock) -> None:
    source = CountingSource()
    broker = ExchangeTokenBroker(source, ttl_seconds=60, clock=clock)

    def call(token: Secret) -> None:
        raise errors.PermissionDenied(403)

    with pytest.raises(errors.PermissionDenied):
        broker.session(ORG, JANE, delivered=Secret("delivered-token")).call(call)
    assert source.fetches == []


def test_session_call_with_the_real_client_refreshes_on_401(clock: FakeClock) -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/fetch-command-exchange-token/"):
            return answer(200, {"token": "fresh-token-456"})
        if request.headers["X-EXCHANGE-TOKEN"] == "fresh-token-456":
            return answer(200, {"color": "blue"})
        return answer(
            401, {"detail": "Invalid or expired exchange token.", "code": "invalid_token"}
        )

    client = DailybotClient(
        base_url="https://api.test/v1/",
        api_key=Secret("test-api-key-0123456789"),
        transport=httpx.MockTransport(platform),
    )
    broker = ExchangeTokenBroker(client, ttl_seconds=900, clock=clock)
    session = broker.session(ORG, JANE, delivered=Secret("old-token-123"))

    value = session.call(lambda token: client.storage_get("color", exchange_token=token))

    assert value == "blue"


def test_reprs_do_not_show_tokens(clock: FakeClock) -> None:
    broker = ExchangeTokenBroker(CountingSource(), ttl_seconds=60, clock=clock)
    broker.token_for(ORG, JANE)
    session = TokenSession(broker, ORG, JANE, delivered=Secret("delivered-token"))

    assert "token-1" not in repr(broker)
    assert "delivered-token" not in repr(session)
    assert repr(session) == f"TokenSession(user_uuid={JANE!r}, has_token=True)"
