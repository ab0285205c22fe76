"""Every documented error answer becomes its own recognisable class of the error tree."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from chalicelib.dailybot import errors
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.error_mapping import error_from_response, parse_retry_after
from chalicelib.dailybot.models import ScheduleSpec
from chalicelib.redaction import Secret
from tests.unit.dailybot.conftest import ScriptedPlatform, answer

TOKEN = Secret("test-exchange-token-abcdef")
NOW = 1_700_000_000.0

DOCUMENTED = [
    (
        400,
        {
            "detail": "You should specify an exchange token or valid command",
            "code": "missing_token_or_command",
        },
        errors.MissingTokenOrCommand,
    ),
    (
        400,
        {
            "detail": (
                "Command is not valid. It must be owned by the same API Key organization owner"
            ),
            "code": "invalid_command_specified",
        },
        errors.InvalidCommandSpecified,
    ),
    (404, {"detail": "Not found.", "code": "not_found"}, errors.NotFound),
    (
        400,
        {
            "detail": "You must provide either a valid exchange token or a namespace parameter",
            "code": "missing_context",
        },
        errors.MissingContext,
    ),
    (
        400,
        {"detail": "You should specify a valid exchange token", "code": "missing_token"},
        errors.MissingToken,
    ),
    (
        406,
        {"detail": 'Could not find the user related to "user_uuid"'},
        errors.UserNotFound,
    ),
    (
        406,
        {
            "detail": (
                "Command is not Public and cannot request exchange tokens of non-same-org users"
            )
        },
        errors.CommandNotPublic,
    ),
    (
        401,
        {"detail": "Authentication credentials were not provided."},
        errors.AuthenticationFailed,
    ),
    (
        401,
        {"detail": "Invalid or expired exchange token.", "code": "invalid_token"},
        errors.AuthenticationFailed,
    ),
    (
        403,
        {"detail": "You do not have permission to perform this action."},
        errors.PermissionDenied,
    ),
    (429, {"detail": "Request was throttled."}, errors.RateLimited),
    (
        429,
        {"detail": "Daily limit reached.", "code": "free_plan_daily_limit_exceeded"},
        errors.DailyLimitExceeded,
    ),
    (406, {"detail": "Something else"}, errors.NotAcceptable),
    (400, {"detail": "Bad."}, errors.BadRequest),
    (404, {"detail": "Nope."}, errors.NotFound),
    (500, {"detail": "Server Error"}, errors.ServerError),
    (503, {"detail": "Down"}, errors.ServerError),
    (409, {"detail": "Conflict", "code": "conflict"}, errors.APIError),
]


@pytest.mark.parametrize(("status", "body", "expected"), DOCUMENTED)
def test_documented_error_maps_to_its_class(
    client: DailybotClient,
    platform: ScriptedPlatform,
    status: int,
    body: dict[str, str],
    expected: type[errors.APIError],
) -> None:
    platform.script(answer(status, body))

    with pytest.raises(errors.APIError) as caught:
        # A create is never retried on these, so one answer is one error.
        client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN)

    error = caught.value
    assert type(error) is expected
    assert error.status == status
    assert error.code == body.get("code")
    assert error.detail == body["detail"]
    assert body["detail"] in str(error)


def test_validation_details_become_validation_failed(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(400, {"details": "Validation error message"}))

    with pytest.raises(errors.ValidationFailed) as caught:
        client.storage_get("k", exchange_token=TOKEN)

    assert caught.value.status == 400
    assert caught.value.details == "Validation error message"
    assert caught.value.code is None
    assert "Validation error message" in str(caught.value)


def test_structured_validation_details_are_kept(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(400, {"details": {"subscriptions": ["This field is required."]}}))

    with pytest.raises(errors.ValidationFailed) as caught:
        client.register_event_subscription([], exchange_token=TOKEN)

    assert caught.value.details == {"subscriptions": ["This field is required."]}


def test_html_error_page_never_reaches_the_message(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1><p>nginx internal-host-42</p></body></html>"
    platform.script(httpx.Response(502, text=html, headers={"content-type": "text/html"}))

    with pytest.raises(errors.ServerError) as caught:
        client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN)

    message = str(caught.value)
    assert message == "Dailybot API answered 502: Bad Gateway"
    assert "nginx" not in message
    assert "<html>" not in message
    assert caught.value.code is None


def test_json_that_is_not_an_object_is_treated_as_no_body() -> None:
    response = httpx.Response(500, json=["boom"])

    error = error_from_response(response)

    assert type(error) is errors.ServerError
    assert error.detail == "Internal Server Error"


def test_very_long_detail_is_cut() -> None:
    response = httpx.Response(400, json={"detail": "x" * 5000})

    error = error_from_response(response)

    assert error.detail is not None
    assert len(error.detail) == 500


def test_secrets_echoed_by_the_platform_are_scrubbed() -> None:
    response = httpx.Response(
        400, json={"detail": "bad token test-exchange-token-abcdef", "details": "test-api-key-x"}
    )

    error = error_from_response(response, secrets=(TOKEN, Secret("test-api-key-x")))

    assert "test-exchange-token-abcdef" not in str(error)
    assert error.details == "[redacted]"


def test_rate_limited_carries_retry_after_seconds(
    client: DailybotClient, platform: ScriptedPlatform
) -> None:
    platform.script(answer(429, {"detail": "Slow down"}, headers=[("Retry-After", "7")]))

    with pytest.raises(errors.RateLimited) as caught:
        client.create_schedule(ScheduleSpec(name="x"), exchange_token=TOKEN)

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        (format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True), 12.0),
        (format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected
