"""Building the runtime's pieces from the settings."""

from __future__ import annotations

import httpx
import pytest

from chalicelib.redaction import Secret
from chalicelib.runtime.composition import build_client
from chalicelib.settings import Settings, SettingsError
from tests.unit.dailybot.conftest import API_KEY, ScriptedPlatform, answer


def test_build_client_uses_url_key_timeouts_and_retry_cap() -> None:
    platform = ScriptedPlatform([answer(200, {"k": "v"})])
    settings = Settings(
        api_url="http://127.0.0.1:9999/v1",
        api_key=Secret(API_KEY),
        http_connect_timeout_seconds=1.5,
        http_read_timeout_seconds=4.0,
    )

    client = build_client(settings, transport=httpx.MockTransport(platform))
    client.storage_get("k", namespace="n")
    client.close()

    request = platform.last
    assert str(request.url) == "http://127.0.0.1:9999/v1/platform/storage/"
    assert request.headers["X-API-KEY"] == API_KEY
    assert request.extensions["timeout"] == {
        "connect": 1.5,
        "read": 4.0,
        "write": 4.0,
        "pool": 1.5,
    }


def test_build_client_needs_an_api_key() -> None:
    with pytest.raises(SettingsError, match="DAILYBOT_API_KEY"):
        build_client(Settings())
