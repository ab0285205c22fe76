"""Outbound calls to commands, the way Dailybot makes them, with at-least-once redelivery.

A delivery is serialised once; every attempt sends the identical bytes. Attempts are recorded
for ``GET /_emulator/deliveries``: kind, what was delivered (intent, event or schedule name), URL,
status, latency, the reply, and the body with its exchange token masked. Bodies and signatures
are never logged because they carry secrets.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.database import Database
from emulator.timestamps import iso_z

SIGNATURE_HEADER = "X-DailyBot-Signature"
MASKED = "••••••"
MAX_RECORDED_REPLY = 64 * 1024

logger = logging.getLogger("emulator.deliveries")


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the command answered on the last attempt (``status_code`` is None if it never did)."""

    status_code: int | None
    text: str
    elapsed_ms: float
    attempts: int
    error: str | None = None

    def reply(self) -> Any:
        """The reply parsed as JSON when it is JSON, else its text."""
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text if self.text or self.status_code is not None else None


class Dispatcher:
    """Sends deliveries over HTTP, or through ``transport`` when one is given (the test kit
    hands the command's app to the emulator in the same process that way)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        config: EmulatorConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._attempts = max(1, config.delivery_attempts)
        self._pause = config.redelivery_pause
        # trust_env=False: a developer's proxy settings must not reroute calls to 127.0.0.1.
        self._client = httpx.AsyncClient(
            timeout=config.delivery_timeout, trust_env=False, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(
        self, kind: str, subject: str, url: str, signature: str, body: dict[str, Any]
    ) -> DeliveryOutcome:
        """Send ``body`` (``subject`` names what it is: an intent, event or schedule name)."""
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        record = _Record(
            delivery_id=uuid.uuid4().hex,
            kind=kind,
            subject=subject,
            url=url,
            digest=hashlib.sha256(content).hexdigest(),
            shown_body=json.dumps(masked(body), ensure_ascii=False),
        )
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        outcome = DeliveryOutcome(None, "", 0.0, 0, "not attempted")
        for attempt in range(1, self._attempts + 1):
            outcome, retry = await self._attempt(url, content, headers, attempt)
            self._record(record, outcome)
            logger.info(
                "delivery %s kind=%s url=%s attempt=%d status=%s error=%s",
                record.delivery_id,
                kind,
                url,
                attempt,
                outcome.status_code,
                outcome.error,
            )
            if not retry or attempt == self._attempts:
                break
            await asyncio.sleep(self._pause)
        return outcome

    async def _attempt(
        self, url: str, content: bytes, headers: dict[str, str], attempt: int
    ) -> tuple[DeliveryOutcome, bool]:
        started = time.perf_counter()
        try:
            response = await self._client.post(url, content=content, headers=headers)
        except httpx.UnsupportedProtocol as exc:
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), False
        except httpx.TransportError as exc:
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), True
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            # A URL httpx cannot use: trying again would not help.
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), False
        outcome = DeliveryOutcome(response.status_code, response.text, _since(started), attempt)
        return outcome, response.status_code >= 500

    def _record(self, record: _Record, outcome: DeliveryOutcome) -> None:
        self._database.execute(
            "INSERT INTO deliveries (delivery_id, kind, subject, url, attempt, status, error,"
            " body_sha256, body, reply, latency_ms, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.delivery_id,
                record.kind,
                record.subject,
                record.url,
                outcome.attempts,
                outcome.status_code,
                outcome.error,
                record.digest,
                record.shown_body,
                outcome.text[:MAX_RECORDED_REPLY],
                outcome.elapsed_ms,
                self._clock.now(),
            ),
        )


@dataclass(frozen=True)
class _Record:
    """What every attempt of one delivery records alike."""

    delivery_id: str
    kind: str
    subject: str
    url: str
    digest: str
    shown_body: str


def masked(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the inspector shows it: the exchange token (a secret) masked."""
    if "exchange_token" not in body:
        return body
    return {**body, "exchange_token": MASKED}


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def recorded_deliveries(database: Database) -> list[dict[str, Any]]:
    return [
        {
            "id": row["id"],
            "delivery_id": row["delivery_id"],
            "kind": row["kind"],
            "subject": row["subject"],
            "url": row["url"],
            "attempt": row["attempt"],
            "status": row["status"],
            "error": row["error"],
            "latency_ms": row["latency_ms"],
            "body_sha256": row["body_sha256"],
            "body": _json_or_none(row["body"]),
            "reply": _reply(row["reply"], row["status"]),
            "at": iso_z(row["at"]),
        }
        for row in database.all("SELECT * FROM deliveries ORDER BY id")
    ]


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _reply(text: str | None, status: int | None) -> Any:
    """The recorded reply, parsed as JSON when it is JSON (as ``DeliveryOutcome.reply``)."""
    if text is None:
        return None
    return DeliveryOutcome(status, text, 0.0, 0).reply()
