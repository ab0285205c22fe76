"""Builders of delivery bodies and of signed requests, shaped like `tests/events/*.json`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.runtime.fake_platform import DELIVERED_TOKEN

EVENTS = Path(__file__).resolve().parent.parent / "events"
SIGNATURE = "test-signature-0001"
ROTATED_SIGNATURE = "test-signature-rotated-0002"
ORG = "11111111-1111-4111-8111-111111111111"
USER = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
COMMAND = "c0000000-0000-4000-8000-000000000001"


def now_iso(offset: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset, UTC).isoformat().replace("+00:00", "Z")


def sample(name: str, **changes: Any) -> dict[str, Any]:
    """A sample delivery from tests/events, stamped now, with `changes` applied."""
    body: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    body["event_timestamp"] = now_iso()
    body.update(changes)
    return body


def invocation(intent: str, query: str = "", **changes: Any) -> dict[str, Any]:
    return sample("command_invocation", intent=intent, query=query, **changes)


def headers(
    signature: str | None = SIGNATURE, content_type: str = "application/json"
) -> dict[str, str]:
    result = {"Content-Type": content_type}
    if signature is not None:
        result["X-DailyBot-Signature"] = signature
    return result


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


__all__ = ["DELIVERED_TOKEN", "invocation", "sample"]
