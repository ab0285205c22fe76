"""Outbound calls to commands, the way Dailybot makes them, with at-least-once redelivery.

A delivery is serialised once; every attempt sends the identical bytes. Attempts are recorded
(kind, URL, attempt, status, body digest) for ``GET /_emulator/deliveries``; bodies and
signatures are never logged because they carry secrets.
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
        self, kind: str, url: str, signature: str, body: dict[str, Any]
    ) -> DeliveryOutcome:
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        digest = hashlib.sha256(content).hexdigest()
        delivery_id = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        outcome = DeliveryOutcome(None, "", 0.0, 0, "not attempted")
        for attempt in range(1, self._attempts + 1):
            outcome, retry = await self._attempt(url, content, headers, attempt)
            self._record(delivery_id, kind, url, digest, outcome)
            logger.info(
                "delivery %s kind=%s url=%s attempt=%d status=%s error=%s",
                delivery_id,
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

    def _record(
        self, delivery_id: str, kind: str, url: str, digest: str, outcome: DeliveryOutcome
    ) -> None:
        self._database.execute(
            "INSERT INTO deliveries (delivery_id, kind, url, attempt, status, error, body_sha256,"
            " at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                delivery_id,
                kind,
                url,
                outcome.attempts,
                outcome.status_code,
                outcome.error,
                digest,
                self._clock.now(),
            ),
        )


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def recorded_deliveries(database: Database) -> list[dict[str, Any]]:
    return [
        {
            "id": row["id"],
            "delivery_id": row["delivery_id"],
            "kind": row["kind"],
            "url": row["url"],
            "attempt": row["attempt"],
            "status": row["status"],
            "error": row["error"],
            "body_sha256": row["body_sha256"],
            "at": iso_z(row["at"]),
        }
        for row in database.all("SELECT * FROM deliveries ORDER BY id")
    ]
