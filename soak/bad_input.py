"""Bad deliveries mixed into the traffic, sent straight to an app as a hostile caller would.

Each kind must be refused with a 4xx and a `code`, and none may reach the platform: each
carries a command (`remember <key> ...`) whose key must never show up in storage. A replay is
a real delivery captured by the router, sent again with its own signature once it is older
than the freshness window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import httpx

from soak.stack import World

# Every kind but `replayed`, which needs a captured delivery old enough.
KINDS: Final = (
    "malformed",
    "not_an_object",
    "missing_field",
    "oversized",
    "unsigned",
    "wrong_signature",
    "stale",
    "in_future",
)
OVERSIZED_BYTES: Final = 300 * 1024  # above the 256 KiB default of DAILYBOT_MAX_BODY_BYTES


@dataclass(frozen=True)
class BadDelivery:
    kind: str
    key: str  # the storage key the delivery would write if it got through
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Refusal:
    """What an app answered to a bad delivery (`status` None: no answer at all)."""

    kind: str
    key: str
    app: int
    status: int | None
    code: str | None
    error: str | None = None

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500 and bool(self.code)


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat().replace("+00:00", "Z")


def bad_delivery(kind: str, key: str, world: World, *, now: float, max_age: int) -> BadDelivery:
    """A delivery of `kind` that would store `key` if the app let it through."""
    body: dict[str, object] = {
        "intent": world.intent,
        "query": f"{key} leaked",
        "event_timestamp": _iso(now),
        "organization_uuid": world.organization_uuid,
        "user_uuid": world.user_uuid,
        "command_uuid": world.command_uuid,
    }
    headers = {"Content-Type": "application/json", "X-DailyBot-Signature": world.signature}
    if kind == "unsigned":
        del headers["X-DailyBot-Signature"]
    elif kind == "wrong_signature":
        headers["X-DailyBot-Signature"] = "forged-" + key
    elif kind == "missing_field":
        del body["organization_uuid"]
    elif kind == "oversized":
        body["padding"] = "x" * OVERSIZED_BYTES
    elif kind == "stale":
        body["event_timestamp"] = _iso(now - max_age - 60)
    elif kind == "in_future":
        body["event_timestamp"] = _iso(now + max_age + 60)
    raw = json.dumps(body).encode()
    if kind == "malformed":
        raw = raw[: len(raw) // 2]
    elif kind == "not_an_object":
        raw = json.dumps([body]).encode()
    return BadDelivery(kind, key, raw, headers)


def send(client: httpx.Client, url: str, app: int, bad: BadDelivery) -> Refusal:
    try:
        response = client.post(url, content=bad.body, headers=bad.headers)
    except httpx.TransportError as exc:
        return Refusal(bad.kind, bad.key, app, None, None, type(exc).__name__)
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    return Refusal(bad.kind, bad.key, app, response.status_code, code if code else None)
