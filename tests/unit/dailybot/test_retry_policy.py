"""The retry policy as pure functions: which failures are repeated and the exact waits."""

from __future__ import annotations

import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.retry import (
    RetryPolicy,
    backoff_seconds,
    equal_jitter,
    no_jitter,
    should_retry,
)

POLICY = RetryPolicy(
    max_attempts=5, base_delay_seconds=0.25, max_delay_seconds=1.5, jitter=no_jitter
)


def retry(error: errors.DailybotError, *, safe: bool, attempt: int = 1) -> bool:
    return should_retry(error, attempt=attempt, safe_to_repeat=safe, policy=POLICY)


@pytest.mark.parametrize("safe", [True, False])
def test_rate_limit_and_refused_connection_are_retried_for_any_request(safe: bool) -> None:
    assert retry(errors.RateLimited(429), safe=safe)
    assert retry(errors.ConnectError("refused"), safe=safe)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_failures_are_retried_only_when_safe_to_repeat(status: int) -> None:
    assert retry(errors.ServerError(status), safe=True)
    assert not retry(errors.ServerError(status), safe=False)


def test_timeouts_and_broken_exchanges_are_retried_only_when_safe_to_repeat() -> None:
    for error in (errors.RequestTimeout("slow"), errors.TransportError("reset")):
        assert retry(error, safe=True)
        assert not retry(error, safe=False)


@pytest.mark.parametrize(
    "error",
    [
        errors.DailyLimitExceeded(429, code="free_plan_daily_limit_exceeded", retry_after=1),
        errors.ServerError(500),
        errors.BadRequest(400),
        errors.AuthenticationFailed(401),
        errors.NotFound(404),
        errors.InvalidResponse("bad"),
        errors.DeadlineExceeded("late"),
    ],
)
def test_verdicts_are_never_retried(error: errors.DailybotError) -> None:
    assert not retry(error, safe=True)


def test_rate_limit_is_retried_only_when_its_retry_after_fits_the_cap() -> None:
    cap = POLICY.max_retry_after_seconds
    assert retry(errors.RateLimited(429, retry_after=cap), safe=True)
    assert retry(errors.RateLimited(429, retry_after=0), safe=False)
    assert retry(errors.RateLimited(429), safe=True)  # no Retry-After: backs off exponentially
    assert not retry(errors.RateLimited(429, retry_after=cap + 0.001), safe=True)
    assert not retry(errors.RateLimited(429, retry_after=30), safe=False)


def test_attempts_stop_at_the_maximum() -> None:
    error = errors.ConnectError("refused")
    assert retry(error, safe=True, attempt=4)
    assert not retry(error, safe=True, attempt=5)


def test_exponential_backoff_schedule_is_capped() -> None:
    error = errors.ServerError(503)
    waits = [backoff_seconds(error, attempt=n, policy=POLICY) for n in range(1, 6)]
    assert waits == [0.25, 0.5, 1.0, 1.5, 1.5]


def test_retry_after_wins_and_is_capped_without_jitter() -> None:
    policy = RetryPolicy(max_retry_after_seconds=5.0, jitter=lambda _: 99.0)
    assert backoff_seconds(errors.RateLimited(429, retry_after=2.0), attempt=1, policy=policy) == 2
    assert backoff_seconds(errors.RateLimited(429, retry_after=60), attempt=1, policy=policy) == 5
    assert backoff_seconds(errors.RateLimited(429, retry_after=-1), attempt=1, policy=policy) == 0
    assert backoff_seconds(errors.RateLimited(429), attempt=1, policy=policy) == 99.0


def test_jitter_is_applied_to_the_exponential_delay() -> None:
    policy = RetryPolicy(base_delay_seconds=1.0, jitter=lambda delay: delay / 4)
    assert backoff_seconds(errors.ServerError(502), attempt=3, policy=policy) == 0.5


def test_equal_jitter_stays_between_half_and_all_of_the_delay() -> None:
    waits = [equal_jitter(2.0) for _ in range(200)]
    assert all(1.0 <= wait <= 2.0 for wait in waits)
    assert len(set(waits)) > 1
