"""Test-wide setup: a fake AWS environment set before anything imports boto3 or the app."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# botocore probes the instance metadata address without these; that address is off limits.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DailybotRuntimeTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "dailybot-runtime-tests")


def known_secrets() -> tuple[str, ...]:
    """Every API key, signature and exchange token the suite's fixtures use, as exact strings."""
    import json
    from pathlib import Path

    from devstack.stack import LOCAL_API_KEY, LOCAL_COMMAND_SIGNATURES
    from testkit.world import DEFAULT_FIXTURES
    from tests.runtime.deliveries import ROTATED_SIGNATURE, SIGNATURE
    from tests.runtime.fake_platform import API_KEY, DELIVERED_TOKEN

    fixtures = Path(__file__).resolve().parent.parent / "emulator" / "fixtures" / "default.json"
    emulator = []
    for path in (fixtures, DEFAULT_FIXTURES):
        world = json.loads(path.read_text())
        emulator += [key["key"] for key in world.get("api_keys", [])] + [
            command["signature"] for command in world.get("commands", [])
        ]
    return (
        API_KEY,
        DELIVERED_TOKEN,
        SIGNATURE,
        ROTATED_SIGNATURE,
        "xt-fetched-for-",  # every token the runtime tests' fake platform hands out
        LOCAL_API_KEY,
        *LOCAL_COMMAND_SIGNATURES.values(),
        *emulator,
        # tests/unit/dailybot/conftest.py
        "test-api-key-0123456789",
        "test-exchange-token-abcdef",
        # tests/deploy/test_secrets.py
        "prod-api-key-5f1c9a7e2b",
        "signature-old-8d2e41aa90",
        "signature-new-3b77c0f1de",
    )


@pytest.fixture(scope="session", autouse=True)
def _no_secret_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The whole suite's log lines, and the logs of the servers it starts, show no secret."""
    from tests.runtime.log_audit import audit_logs

    yield from audit_logs(known_secrets(), lambda: [tmp_path_factory.getbasetemp()])
