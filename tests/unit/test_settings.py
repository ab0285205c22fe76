"""Settings read from the environment: defaults, parsing, and refusal of unusable values."""

from __future__ import annotations

import pytest

from chalicelib.redaction import Secret
from chalicelib.settings import DEFAULT_API_URL, DEFAULT_IDEMPOTENCY_STORE, Settings, SettingsError


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.api_url == DEFAULT_API_URL
    assert settings.api_key is None
    assert settings.signatures == ()
    assert settings.max_delivery_age_seconds == 300.0
    assert settings.idempotency_store == DEFAULT_IDEMPOTENCY_STORE
    assert settings.idempotency_lock_seconds == 30
    assert settings.idempotency_window_seconds == 3600
    assert settings.reply_budget_seconds == 10.0
    assert settings.registry_namespace == "dailybot-runtime"
    assert settings.storage_namespace is None
    assert settings.fields.query == ("query", "text")
    assert settings.fields.exchange_token == "exchange_token"


def test_values_are_parsed_and_secrets_wrapped() -> None:
    settings = Settings.from_env(
        {
            "DAILYBOT_API_URL": "http://127.0.0.1:8001/v1",
            "DAILYBOT_API_KEY": "key-123456",
            "DAILYBOT_SIGNATURES": " sig-old-0001 , sig-new-0002 ,",
            "DAILYBOT_MAX_DELIVERY_AGE": "0",
            "IDEMPOTENCY_STORE": "dynamodb://table",
            "IDEMPOTENCY_LOCK_SECONDS": "12",
            "DAILYBOT_PUBLIC_URL": "https://example.test/dailybot",
            "DAILYBOT_OWNER_UUID": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
            "DAILYBOT_FIELD_QUERY": "text,query",
            "DAILYBOT_FIELD_EXCHANGE_TOKEN": "token",
        }
    )
    assert settings.api_url == "http://127.0.0.1:8001/v1/"
    assert settings.api_key == Secret("key-123456")
    assert [s.reveal() for s in settings.signatures] == ["sig-old-0001", "sig-new-0002"]
    assert settings.max_delivery_age_seconds == 0.0
    assert settings.idempotency_store == "dynamodb://table"
    assert settings.idempotency_lock_seconds == 12
    assert settings.public_url == "https://example.test/dailybot"
    assert settings.owner_uuid == "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    assert settings.fields.query == ("text", "query")
    assert settings.fields.exchange_token == "token"


def test_secrets_do_not_show_in_the_repr_of_settings() -> None:
    settings = Settings.from_env(
        {"DAILYBOT_API_KEY": "key-abcdef", "DAILYBOT_SIGNATURES": "s-abcdef"}
    )
    assert "key-abcdef" not in repr(settings)
    assert "s-abcdef" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DAILYBOT_MAX_DELIVERY_AGE", "soon", "must be a number"),
        ("IDEMPOTENCY_LOCK_SECONDS", "-1", "must not be negative"),
    ],
)
def test_unusable_numbers_are_refused_with_the_variable_named(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=f"{name} {message}"):
        Settings.from_env({name: value})
