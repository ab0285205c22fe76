"""Settings read from the environment: defaults, parsing, and refusal of unusable values."""

from __future__ import annotations

import pytest

from chalicelib.redaction import Secret
from chalicelib.settings import (
    DEFAULT_API_URL,
    DEFAULT_IDEMPOTENCY_STORE,
    AcceptedSignature,
    EnvReader,
    Settings,
    SettingsError,
    parse_signatures,
)


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
    assert settings.token_cache_size == 1024


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
    assert settings.signatures == (
        AcceptedSignature(Secret("sig-old-0001")),
        AcceptedSignature(Secret("sig-new-0002")),
    )
    assert settings.max_delivery_age_seconds == 0.0
    assert settings.idempotency_store == "dynamodb://table"
    assert settings.idempotency_lock_seconds == 12
    assert settings.public_url == "https://example.test/dailybot"
    assert settings.owner_uuid == "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    assert settings.fields.query == ("text", "query")
    assert settings.fields.exchange_token == "token"


def test_secrets_do_not_show_in_the_repr_of_settings() -> None:
    settings = Settings.from_env(
        {
            "DAILYBOT_API_KEY": "key-abcdef",
            "DAILYBOT_SIGNATURES": f"s-abcdef,{ACME_COMMAND}:s-bound-abcdef",
        }
    )
    assert "key-abcdef" not in repr(settings)
    assert "s-abcdef" not in repr(settings)
    assert "s-bound-abcdef" not in repr(settings)
    assert ACME_COMMAND in repr(settings)


ACME_COMMAND = "c0000000-0000-4000-8000-000000000001"


def test_signatures_are_bound_to_their_command_or_plain() -> None:
    raw = (
        f" {ACME_COMMAND}:sig-acme , C0000000-0000-4000-8000-000000000002 : sig-globex,"
        " plain-sig, not-a-uuid:sig-with-colon, c0000000000040008000000000000003:compact"
    )
    assert parse_signatures(raw) == (
        AcceptedSignature(Secret("sig-acme"), ACME_COMMAND),
        AcceptedSignature(Secret("sig-globex"), "c0000000-0000-4000-8000-000000000002"),
        AcceptedSignature(Secret("plain-sig")),
        AcceptedSignature(Secret("not-a-uuid:sig-with-colon")),
        AcceptedSignature(Secret("compact"), "c0000000-0000-4000-8000-000000000003"),
    )


@pytest.mark.parametrize("entry", [f"{ACME_COMMAND}:", f"{ACME_COMMAND}:  "])
def test_a_command_without_its_signature_is_refused(entry: str) -> None:
    # Read as a plain signature, the command's (public) uuid would be accepted for any command.
    expected = f"DAILYBOT_SIGNATURES: the signature of command {ACME_COMMAND} is empty"
    with pytest.raises(SettingsError, match=expected):
        Settings.from_env({"DAILYBOT_SIGNATURES": f"sig-other,{entry}"})


def test_the_token_cache_size_is_a_setting() -> None:
    assert Settings.from_env({"DAILYBOT_TOKEN_CACHE_SIZE": "16"}).token_cache_size == 16
    with pytest.raises(SettingsError, match="DAILYBOT_TOKEN_CACHE_SIZE must be a whole number"):
        Settings.from_env({"DAILYBOT_TOKEN_CACHE_SIZE": "many"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DAILYBOT_MAX_DELIVERY_AGE", "soon", "must be a number, got 'soon'"),
        ("DAILYBOT_MAX_DELIVERY_AGE", "-1", "must not be below 0, got '-1'"),
        ("DAILYBOT_MAX_DELIVERY_AGE", "nan", "must be a finite number, got 'nan'"),
        ("IDEMPOTENCY_LOCK_SECONDS", "-1", "must be a whole number at least 1, got '-1'"),
        ("IDEMPOTENCY_LOCK_SECONDS", "nan", "must be a whole number, got 'nan'"),
        ("IDEMPOTENCY_LOCK_SECONDS", "2.5", "must be a whole number, got '2.5'"),
        ("JOBS_ATTEMPTS", "0", "must be a whole number from 1 to 998, got '0'"),
        ("JOBS_ATTEMPTS", "inf", "must be a whole number, got 'inf'"),
        ("JOBS_TIMEOUT_SECONDS", "0", "must be a whole number from 1 to 43200, got '0'"),
        ("JOBS_BACKOFF_SECONDS", "nan", "must be a finite number"),
        ("JOBS_BACKOFF_SECONDS", "86400", "must be at most 43200, got '86400'"),
        ("DAILYBOT_MAX_BODY_BYTES", "inf", "must be a whole number, got 'inf'"),
        ("DAILYBOT_MAX_BODY_BYTES", "0", "must be a whole number from 1 to 6291456"),
        ("DAILYBOT_REPLY_BUDGET", "nan", "must be a finite number"),
        ("DAILYBOT_REPLY_BUDGET", "0", "must be above 0, got '0'"),
        ("DAILYBOT_REPLY_MARGIN", "10", r"\(10\) must be less than DAILYBOT_REPLY_BUDGET \(10\)"),
        ("DAILYBOT_CONNECT_TIMEOUT", "0", "must be above 0"),
        ("DAILYBOT_RECONCILE_PERIOD", "0", "must be above 0"),
        ("DAILYBOT_API_URL", "notaurl", "must be an http:// or https:// URL with a host$"),
        ("DAILYBOT_PUBLIC_URL", "ftp://x/dailybot", "must be an http:// or https:// URL"),
        ("IDEMPOTENCY_DYNAMODB_ENDPOINT", "localhost:8000", "must be an http:// or https://"),
        ("IDEMPOTENCY_STORE", "sqlite:///", "must be sqlite:///PATH or dynamodb://TABLE"),
        ("IDEMPOTENCY_STORE", "dynamodb://", "must be sqlite:///PATH or dynamodb://TABLE"),
        ("JOBS_QUEUE", "sqs://", "must be sqlite:///PATH or sqs://QUEUE-URL, got 'sqs://'"),
        ("DAILYBOT_OWNER_UUID", "jane", "must be a UUID, got 'jane'"),
    ],
)
def test_unusable_values_are_refused_with_the_variable_named(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{name} {message}"):
        Settings.from_env({name: value})


def test_a_url_in_an_error_is_not_repeated() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"DAILYBOT_API_URL": "user:s3cret@nowhere"})
    assert "s3cret" not in str(raised.value)


def test_values_at_the_edges_are_taken_as_they_are() -> None:
    settings = Settings.from_env(
        {
            "JOBS_ATTEMPTS": "1",
            "JOBS_BACKOFF_SECONDS": "0",
            "DAILYBOT_MAX_DELIVERY_AGE": "0",
            "DAILYBOT_REPLY_BUDGET": "2",
            "DAILYBOT_REPLY_MARGIN": "1.5",
            "IDEMPOTENCY_STORE": "sqlite:///:memory:",
            "JOBS_QUEUE": "sqs://https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
            "DAILYBOT_OWNER_UUID": "AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA",
        }
    )
    assert (settings.jobs_attempts, settings.jobs_backoff_seconds) == (1, 0.0)
    assert (settings.reply_budget_seconds, settings.reply_margin_seconds) == (2.0, 1.5)
    assert settings.jobs_queue.startswith("sqs://https://")


def test_the_reader_serves_settings_yet_to_come() -> None:
    read = EnvReader({"JOBS_MAX_CHAIN": " 12 ", "JOBS_MAX_FANOUT": "0"})
    assert read.whole("JOBS_MAX_CHAIN", 10) == 12
    assert read.whole("UNSET", 100) == 100
    with pytest.raises(SettingsError, match=r"^JOBS_MAX_FANOUT must be a whole number at least 1"):
        read.whole("JOBS_MAX_FANOUT", 100)
