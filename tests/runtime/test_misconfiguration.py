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
        (
            "DAILYBOT_SIGNATURES",
            "test-signature-0001,c0000000-0000-4000-8000-000000000001:",
            "DAILYBOT_SIGNATURES: the signature of command c0000000-0000-4000-8000-000000000001",
        ),
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
