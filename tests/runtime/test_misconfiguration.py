"""A deployment whose settings keep the runtime from starting answers 503, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from app import app, container
from tests.runtime.deliveries import encode, headers, invocation


@pytest.fixture
def unbuilt_container(env: dict[str, str]) -> Iterator[None]:
    container.reset(None)
    yield
    container.reset(None)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("IDEMPOTENCY_STORE", "redis://somewhere", "IDEMPOTENCY_STORE"),
        ("DAILYBOT_API_KEY", "", "DAILYBOT_API_KEY"),
        ("DAILYBOT_MAX_DELIVERY_AGE", "soon", "DAILYBOT_MAX_DELIVERY_AGE"),
        ("DAILYBOT_USAGE_ACTIVITY", "maybe", "DAILYBOT_USAGE_ACTIVITY must be on or off"),
        (
            "DAILYBOT_SIGNATURES",
            "test-signature-0001,c0000000-0000-4000-8000-000000000001:",
            "DAILYBOT_SIGNATURES: the signature of command c0000000-0000-4000-8000-000000000001",
        ),
        # Numbers that are not numbers, or out of any range that makes sense: never a 500,
        # never silently changed.
        ("JOBS_ATTEMPTS", "nan", "JOBS_ATTEMPTS must be a whole number"),
        ("JOBS_ATTEMPTS", "inf", "JOBS_ATTEMPTS must be a whole number"),
        ("JOBS_ATTEMPTS", "0", "JOBS_ATTEMPTS must be a whole number from 1 to 998"),
        ("JOBS_BACKOFF_SECONDS", "nan", "JOBS_BACKOFF_SECONDS must be a finite number"),
        ("JOBS_TIMEOUT_SECONDS", "0", "JOBS_TIMEOUT_SECONDS must be a whole number from 1"),
        ("IDEMPOTENCY_LOCK_SECONDS", "nan", "IDEMPOTENCY_LOCK_SECONDS must be a whole number"),
        ("DAILYBOT_MAX_BODY_BYTES", "inf", "DAILYBOT_MAX_BODY_BYTES must be a whole number"),
        ("DAILYBOT_REPLY_BUDGET", "nan", "DAILYBOT_REPLY_BUDGET must be a finite number"),
        ("DAILYBOT_REPLY_BUDGET", "0", "DAILYBOT_REPLY_BUDGET must be above 0"),
        ("DAILYBOT_REPLY_MARGIN", "20", "DAILYBOT_REPLY_MARGIN (20) must be less than"),
        ("DAILYBOT_READ_TIMEOUT", "-inf", "DAILYBOT_READ_TIMEOUT must be a finite number"),
        # Addresses that do not parse.
        ("IDEMPOTENCY_STORE", "sqlite:///", "IDEMPOTENCY_STORE must be sqlite:///PATH or"),
        ("JOBS_QUEUE", "redis://jobs", "JOBS_QUEUE must be sqlite:///PATH or sqs://QUEUE-URL"),
        ("DAILYBOT_API_URL", "notaurl", "DAILYBOT_API_URL must be an http:// or https:// URL"),
        ("DAILYBOT_PUBLIC_URL", "dailybot", "DAILYBOT_PUBLIC_URL must be an http:// or https://"),
    ],
)
@pytest.mark.usefixtures("unbuilt_container")
def test_bad_settings_answer_503_and_log_which_one(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with Client(app, stage_name="test") as client:
        response = client.http.post(
            "/dailybot", body=encode(invocation("remember", "color blue")), headers=headers()
        )
    assert response.status_code == 503
    assert response.json_body == {
        "code": "not_configured",
        "message": "The command's backend is not configured correctly.",
    }
    logged = capsys.readouterr().out
    assert named in logged
    assert "Traceback" not in response.body.decode()
