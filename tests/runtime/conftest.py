"""Fixtures: a fake platform on httpx.MockTransport, the runtime built against it, the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app, container, registry
from chalicelib.runtime.composition import Runtime, build_runtime
from chalicelib.runtime.intake.pipeline import RegistrationCheck
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.deliveries import ROTATED_SIGNATURE, SIGNATURE, encode, headers
from tests.runtime.fake_platform import API_KEY, FakePlatform

# The session-wide log audit (no secret in any log line) is in tests/conftest.py.


def runtime_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DAILYBOT_API_URL": "https://platform.test/v1/",
        "DAILYBOT_API_KEY": API_KEY,
        "DAILYBOT_SIGNATURES": f"{SIGNATURE}, {ROTATED_SIGNATURE}",
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp_path}/idempotency.sqlite3",
        "DAILYBOT_MAX_DELIVERY_AGE": "300",
        "DAILYBOT_REPLY_BUDGET": "10",
        "DAILYBOT_REPLY_MARGIN": "1",
    }


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = runtime_env(tmp_path)
    for name in (
        "DAILYBOT_API_KEY_PARAMETER",
        "DAILYBOT_SIGNATURES_PARAMETER",
        "DAILYBOT_STORAGE_NAMESPACE",
        "DAILYBOT_PUBLIC_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def make_runtime(
    env: dict[str, str], platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RuntimeFactory]:
    """Builds the runtime from the environment (plus `env` overrides) and installs it."""

    def make(
        *,
        commands: CommandRegistry | None = None,
        registration: RegistrationCheck | None = None,
        **overrides: str,
    ) -> Runtime:
        for name, value in overrides.items():
            monkeypatch.setenv(name, value)
        runtime = build_runtime(
            commands or registry,
            transport=platform.transport(),
            registration=registration,
        )
        container.reset(runtime)
        return runtime

    yield make
    container.reset(None)


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[Client]:
    # A stage the config does not define: the environment is the one these fixtures set.
    with Client(app, stage_name="test") as test_client:
        yield test_client


Poster = Callable[..., Any]


@pytest.fixture
def deliver(client: Client) -> Poster:
    """POSTs a body (dict → JSON, bytes as is) to /dailybot, signed unless told otherwise."""

    def post(body: Any, **header_options: Any) -> Any:
        raw = body if isinstance(body, bytes) else encode(body)
        return client.http.post("/dailybot", headers=headers(**header_options), body=raw)

    return post
