"""Secrets stay hidden in reprs, strings and scrubbed text."""

from __future__ import annotations

from chalicelib.redaction import REDACTED, Secret, redact_text


def test_a_secret_shows_a_placeholder_everywhere_but_reveal() -> None:
    secret = Secret("very-secret-value")
    assert secret.reveal() == "very-secret-value"
    assert "very-secret-value" not in repr(secret)
    assert str(secret) == REDACTED
    assert f"{secret}" == REDACTED
    assert "very-secret-value" not in repr([secret, {"k": secret}])


def test_secrets_compare_and_hash_by_value() -> None:
    assert Secret("abc") == Secret("abc")
    assert Secret("abc") != Secret("abd")
    assert Secret("abc") != "abc"
    assert len({Secret("abc"), Secret("abc")}) == 1
    assert not Secret("")


def test_redact_text_scrubs_every_secret_and_leaves_short_values() -> None:
    text = "key=api-key-123456 token=tok-987654 x=abc"
    scrubbed = redact_text(text, [Secret("api-key-123456"), "tok-987654", "abc"])
    assert scrubbed == f"key={REDACTED} token={REDACTED} x=abc"
