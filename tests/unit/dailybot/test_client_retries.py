"""The client's retries end to end over a mock transport: schedules, creates, deadlines."""

from __future__ import annotations

import logging

import httpx
import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.models import ActivityEntry, OutgoingMessage, ScheduleSpec
from chalicelib.dailybot.retry import RetryPolicy, no_jitter
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import (
    API_KEY,
    EXCHANGE_TOKEN,
    FakeClock,
    FakeSleep,
    ScriptedPlatform,
    answer,
)

TOKEN = Secret(EXCHANGE_TOKEN)
UNAVAILABLE = answer(503, {"detail": "Service Unavailable"})
OK = answer(200, {"k": "v"})


def test_safe_request_is_retried_on_gateway_failures_with_exponential_waits(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(UNAVAILABLE, answer(504, {}), OK)

    assert client.storage_get("k", namespace="n") == "v"

    assert len(platform.requests) == 3
    assert sleep.waits == [0.5, 1.0]


def test_attempts_run_out_and_the_last_error_is_raised(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(UNAVAILABLE)

    with pytest.raises(errors.ServerError) as caught:
        client.get_schedule("abc", exchange_token=TOKEN)

    assert caught.value.status == 503
    assert len(platform.requests) == 3
    assert sleep.waits == [0.5, 1.0]


def test_internal_server_error_is_not_retried(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(answer(500, {"detail": "boom"}), OK)

    with pytest.raises(errors.ServerError):
        client.storage_get("k", namespace="n")

    assert len(platform.requests) == 1
    assert sleep.waits == []


def test_rate_limit_waits_retry_after_up_to_the_cap(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(
        answer(429, {"detail": "slow"}, headers=[("Retry-After", "2")]),
        answer(429, {"detail": "slow"}, headers=[("Retry-After", "5")]),
        OK,
    )

    assert client.storage_get("k", namespace="n") == "v"

    # The default policy's cap is settings' default of 5 s: a wait of exactly 5 s is honoured.
    assert sleep.waits == [2.0, 5.0]


@pytest.mark.parametrize("deadline_seconds", [None, 60.0], ids=["no-deadline", "ample-deadline"])
def test_rate_limit_longer_than_the_cap_fails_at_once(
    client: DailybotClient,
    platform: ScriptedPlatform,
    sleep: FakeSleep,
    clock: FakeClock,
    deadline_seconds: float | None,
) -> None:
    platform.script(answer(429, {"detail": "slow"}, headers=[("Retry-After", "30")]), OK)
    deadline = None if deadline_seconds is None else Deadline.after(deadline_seconds, clock)
    started = clock.now

    with pytest.raises(errors.RateLimited) as caught:
        client.storage_get("k", namespace="n", deadline=deadline)

    assert caught.value.retry_after == 30.0
    assert len(platform.requests) == 1
    assert sleep.waits == []
    assert clock.now == started


def test_a_later_rate_limit_longer_than_the_cap_ends_the_retries(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(
        answer(429, {}, headers=[("Retry-After", "1")]),
        answer(429, {}, headers=[("Retry-After", "5.5")]),
        OK,
    )

    with pytest.raises(errors.RateLimited):
        client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN)

    assert sleep.waits == [1.0]
    assert len(platform.requests) == 2


@pytest.mark.parametrize(
    ("retry_after", "deadline_seconds", "allowed"),
    [("30", None, "5.000"), ("4", 3.0, "3.000")],
    ids=["over-the-cap", "over-the-time-left"],
)
def test_a_refused_wait_is_logged_with_what_was_asked(
    client: DailybotClient,
    platform: ScriptedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    retry_after: str,
    deadline_seconds: float | None,
    allowed: str,
) -> None:
    platform.script(answer(429, {}, headers=[("Retry-After", retry_after)]))
    deadline = None if deadline_seconds is None else Deadline.after(deadline_seconds, clock)

    with (
        caplog.at_level(logging.INFO, logger="chalicelib.dailybot.client"),
        pytest.raises(errors.RateLimited),
    ):
        client.storage_get("k", exchange_token=TOKEN, deadline=deadline)

    [record] = [r for r in caplog.records if r.name == "chalicelib.dailybot.client"]
    assert record.getMessage() == (
        f"Dailybot POST platform/storage/ asked to wait {float(retry_after):.3f} s,"
        f" more than the {allowed} s allowed: not retried"
    )
    assert EXCHANGE_TOKEN not in caplog.text


@pytest.mark.parametrize(
    "refusal",
    [
        answer(429, {"code": "free_plan_daily_limit_exceeded"}, headers=[("Retry-After", "60")]),
        answer(500, {"detail": "boom"}),
    ],
    ids=["daily-limit", "server-error"],
)
def test_failures_that_are_not_a_refused_wait_are_not_logged_as_one(
    client: DailybotClient,
    platform: ScriptedPlatform,
    caplog: pytest.LogCaptureFixture,
    refusal: httpx.Response,
) -> None:
    platform.script(refusal)

    with (
        caplog.at_level(logging.INFO, logger="chalicelib.dailybot.client"),
        pytest.raises(errors.APIError),
    ):
        client.storage_get("k", namespace="n")

    assert [r for r in caplog.records if r.name == "chalicelib.dailybot.client"] == []


def test_rate_limit_with_http_date_retry_after(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    # The fixture's wall clock reads 1_700_000_000 = Tue, 14 Nov 2023 22:13:20 GMT.
    platform.script(answer(429, {}, headers=[("Retry-After", "Tue, 14 Nov 2023 22:13:23 GMT")]), OK)

    client.storage_get("k", namespace="n")

    assert sleep.waits == [3.0]


def test_rate_limit_without_retry_after_backs_off_exponentially(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(answer(429, {}), answer(429, {}), answer(200, {"uuid": "created"}))

    assert client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN) == "created"

    assert sleep.waits == [0.5, 1.0]
    assert len(platform.requests) == 3


def test_daily_limit_is_never_retried(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(
        answer(
            429,
            {"detail": "limit", "code": "free_plan_daily_limit_exceeded"},
            headers=[("Retry-After", "1")],
        ),
        OK,
    )

    with pytest.raises(errors.DailyLimitExceeded):
        client.storage_get("k", namespace="n")

    assert len(platform.requests) == 1
    assert sleep.waits == []


@pytest.mark.parametrize(
    "create",
    [
        lambda c: c.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN),
        lambda c: c.create_activity(ActivityEntry("usage", "x"), exchange_token=TOKEN),
        lambda c: c.register_event_subscription(["kudos.posted"], exchange_token=TOKEN),
        lambda c: c.send_message(OutgoingMessage("hi"), exchange_token=TOKEN),
    ],
    ids=["schedule", "activity", "event-subscription", "send-message"],
)
@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (UNAVAILABLE, errors.ServerError),
        (httpx.ReadTimeout("read timed out"), errors.RequestTimeout),
        (httpx.RemoteProtocolError("Server disconnected"), errors.TransportError),
    ],
    ids=["503", "read-timeout", "disconnected"],
)
def test_create_that_may_have_been_applied_is_not_repeated(
    client: DailybotClient,
    platform: ScriptedPlatform,
    sleep: FakeSleep,
    create: object,
    failure: httpx.Response | Exception,
    raised: type[errors.DailybotError],
) -> None:
    platform.script(failure, answer(200, {"uuid": "u", "hook_uuid": 1}))

    with pytest.raises(raised):
        create(client)  # type: ignore[operator]

    assert len(platform.requests) == 1
    assert sleep.waits == []


def test_create_is_retried_when_the_connection_was_refused(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect timed out"),
        answer(200, {"uuid": "created"}),
    )

    assert client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN) == "created"

    assert len(platform.requests) == 3
    assert sleep.waits == [0.5, 1.0]


def test_safe_request_is_retried_after_a_timeout(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(httpx.ReadTimeout("slow"), OK)

    assert client.storage_get("k", namespace="n") == "v"

    assert sleep.waits == [0.5]


def test_transport_errors_chain_the_httpx_exception(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    cause = httpx.ConnectError("[Errno 111] Connection refused")
    platform.script(cause)

    with pytest.raises(errors.ConnectError) as caught:
        client.storage_get("k", namespace="n")

    assert caught.value.__cause__ is cause
    assert str(caught.value) == (
        "POST platform/storage/: could not connect to the Dailybot API (ConnectError)"
    )


def test_no_attempt_when_the_deadline_already_passed(
    client: DailybotClient, platform: ScriptedPlatform, clock: FakeClock
) -> None:
    deadline = Deadline(at=clock.now - 1, clock=clock)

    with pytest.raises(errors.DeadlineExceeded):
        client.storage_get("k", namespace="n", deadline=deadline)

    assert platform.requests == []


def test_a_wait_that_would_pass_the_deadline_raises_the_last_error_instead(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep, clock: FakeClock
) -> None:
    platform.script(UNAVAILABLE)
    deadline = Deadline.after(1.2, clock)

    with pytest.raises(errors.ServerError):
        client.storage_get("k", namespace="n", deadline=deadline)

    # 0.5 s fits in the 1.2 s budget; the next 1.0 s wait would not fit in the 0.7 s left.
    assert sleep.waits == [0.5]
    assert len(platform.requests) == 2
    assert clock.now <= deadline.at


def test_retry_after_longer_than_the_budget_is_not_waited(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep, clock: FakeClock
) -> None:
    platform.script(answer(429, {}, headers=[("Retry-After", "3")]), OK)

    with pytest.raises(errors.RateLimited):
        client.storage_get("k", namespace="n", deadline=Deadline.after(2.0, clock))

    assert sleep.waits == []


def test_an_attempt_that_used_up_the_deadline_is_not_followed_by_a_wait(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep, clock: FakeClock
) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.now += 5.0
        return UNAVAILABLE

    platform.script(slow_failure)

    with pytest.raises(errors.ServerError):
        client.storage_get("k", namespace="n", deadline=Deadline.after(3.0, clock))

    assert sleep.waits == []
    assert len(platform.requests) == 1


def test_a_sleep_that_overslept_stops_before_the_next_attempt(
    platform: ScriptedPlatform, clock: FakeClock
) -> None:
    def oversleep(seconds: float) -> None:
        clock.now += seconds * 10

    platform.script(UNAVAILABLE)
    client = DailybotClient(
        base_url="https://api.test/v1/",
        api_key=Secret(API_KEY),
        transport=httpx.MockTransport(platform),
        sleep=oversleep,
        clock=clock,
        retry_policy=RetryPolicy(jitter=no_jitter),
    )

    with pytest.raises(errors.ServerError):
        client.storage_get("k", namespace="n", deadline=Deadline.after(1.0, clock))

    assert len(platform.requests) == 1


def test_request_timeouts_shrink_to_the_deadline(
    client: DailybotClient, platform: ScriptedPlatform, clock: FakeClock
) -> None:
    client.storage_get("k", namespace="n", deadline=Deadline.after(1.5, clock))
    assert platform.last.extensions["timeout"] == {
        "connect": 1.5,
        "read": 1.5,
        "write": 1.5,
        "pool": 1.5,
    }

    client.storage_get("k", namespace="n", deadline=Deadline.after(3.0, clock))
    assert platform.last.extensions["timeout"] == {
        "connect": 2.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 3.0,
    }

    client.storage_get("k", namespace="n", deadline=Deadline.never())
    assert platform.last.extensions["timeout"] == {
        "connect": 2.0,
        "read": 5.0,
        "write": 5.0,
        "pool": 5.0,
    }


def test_unbounded_configured_timeouts_take_the_deadline(
    platform: ScriptedPlatform, clock: FakeClock
) -> None:
    client = DailybotClient(
        base_url="https://api.test/v1/",
        api_key=Secret(API_KEY),
        timeout=httpx.Timeout(None),
        transport=httpx.MockTransport(platform),
    )

    client.storage_get("k", namespace="n", deadline=Deadline.after(2.5, clock))

    assert set(platform.last.extensions["timeout"].values()) == {2.5}


def test_each_retry_is_logged_at_info_without_headers(
    client: DailybotClient,
    platform: ScriptedPlatform,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform.script(UNAVAILABLE, OK)

    with caplog.at_level(logging.INFO, logger="chalicelib.dailybot.client"):
        client.storage_get("k", exchange_token=TOKEN)

    [record] = [r for r in caplog.records if r.name == "chalicelib.dailybot.client"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "Retrying Dailybot POST platform/storage/ after attempt 1 (ServerError) in 0.500 s"
    )
    assert record.__dict__["attempt"] == 1
    assert record.__dict__["wait_seconds"] == 0.5
    assert API_KEY not in caplog.text
    assert EXCHANGE_TOKEN not in caplog.text


def test_delete_retried_after_an_ambiguous_failure_and_found_gone_is_done(
    client: DailybotClient, platform: ScriptedPlatform, sleep: FakeSleep
) -> None:
    platform.script(UNAVAILABLE, answer(404, {"detail": "Not found.", "code": "not_found"}))

    client.delete_schedule("abc", exchange_token=TOKEN)

    assert [r.method for r in platform.requests] == ["DELETE", "DELETE"]
    assert sleep.waits == [0.5]


@pytest.mark.parametrize(
    "first",
    [
        answer(404, {"detail": "Not found.", "code": "not_found"}),
        httpx.ConnectError("refused"),
        answer(429, {}, headers=[("Retry-After", "1")]),
    ],
    ids=["first-attempt", "after-refused-connection", "after-rate-limit"],
)
def test_delete_of_a_schedule_that_never_existed_is_not_found(
    client: DailybotClient, platform: ScriptedPlatform, first: httpx.Response | Exception
) -> None:
    platform.script(first, answer(404, {"detail": "Not found.", "code": "not_found"}))

    with pytest.raises(errors.NotFound):
        client.delete_schedule("abc", exchange_token=TOKEN)


def test_get_retried_and_found_gone_is_still_not_found(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(UNAVAILABLE, answer(404, {"detail": "Not found.", "code": "not_found"}))

    with pytest.raises(errors.NotFound):
        client.get_schedule("abc", exchange_token=TOKEN)
