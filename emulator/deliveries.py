"""Outbound calls to commands, the way Dailybot makes them, with at-least-once redelivery.

A delivery is serialised once; every attempt sends the identical bytes. Attempts are recorded
for ``GET /_emulator/deliveries``: kind, what was delivered (intent, event or schedule name), URL,
status, latency, the reply, the ``X-Correlation-Id`` the command answered with, and the body with
its exchange token masked. The delivery as a whole is a *run* (``emulator.runs``). Bodies and
signatures are never logged because they carry secrets.

The exact bytes of recent deliveries are kept in memory only (they hold an exchange token, which
the emulator never writes to disk), so the inspector can send one again as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.correlation import CORRELATION_HEADER, correlation_id
from emulator.database import Database
from emulator.runs import Outbound, finish_run, start_run
from emulator.timestamps import iso_z

SIGNATURE_HEADER = "X-DailyBot-Signature"
MASKED = "••••••"
MAX_RECORDED_REPLY = 64 * 1024
KEPT_BODY_BYTES = 32 * 1024 * 1024

logger = logging.getLogger("emulator.deliveries")


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the command answered on the last attempt (``status_code`` is None if it never did)."""

    status_code: int | None
    text: str
    elapsed_ms: float
    attempts: int
    error: str | None = None
    delivery_id: str = ""
    correlation_id: str | None = None

    def reply(self) -> Any:
        """The reply parsed as JSON when it is JSON, else its text."""
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text if self.text or self.status_code is not None else None


class SentBodies:
    """The exact bytes of the most recent deliveries, in memory, up to a total size."""

    def __init__(self, limit: int = KEPT_BODY_BYTES) -> None:
        self._limit = limit
        self._size = 0
        self._bodies: OrderedDict[str, bytes] = OrderedDict()

    def keep(self, delivery_id: str, content: bytes) -> None:
        self._bodies[delivery_id] = content
        self._size += len(content)
        while self._size > self._limit and self._bodies:
            _, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)

    def get(self, delivery_id: str) -> bytes | None:
        return self._bodies.get(delivery_id)

    def clear(self) -> None:
        self._bodies.clear()
        self._size = 0


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
        self.sent = SentBodies()
        # Told the delivery id whenever a run starts or gains an attempt (the change feed).
        self.on_change: Callable[[str], None] = lambda delivery_id: None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(self, outbound: Outbound) -> DeliveryOutcome:
        """Send ``outbound.body`` (or its exact ``content``), redelivering on failure."""
        content = outbound.content or json.dumps(
            outbound.body, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        record = _Record(
            delivery_id=uuid.uuid4().hex,
            kind=outbound.kind,
            subject=outbound.subject,
            url=outbound.url,
            digest=hashlib.sha256(content).hexdigest(),
            shown_body=json.dumps(masked(outbound.body), ensure_ascii=False),
        )
        self.sent.keep(record.delivery_id, content)
        start_run(
            self._database,
            record.delivery_id,
            outbound,
            shown_body=record.shown_body,
            digest=record.digest,
            at=self._clock.now(),
        )
        self.on_change(record.delivery_id)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: outbound.signature}
        outcome = DeliveryOutcome(None, "", 0.0, 0, "not attempted", record.delivery_id)
        for attempt in range(1, self._attempts + 1):
            outcome, retry = await self._attempt(outbound.url, content, headers, attempt)
            outcome = replace(outcome, delivery_id=record.delivery_id)
            self._record(record, outcome)
            logger.info(
                "delivery %s kind=%s url=%s attempt=%d status=%s error=%s",
                record.delivery_id,
                outbound.kind,
                outbound.url,
                attempt,
                outcome.status_code,
                outcome.error,
            )
            last = not retry or attempt == self._attempts
            if last:
                finish_run(self._database, record.delivery_id, outcome.correlation_id)
            self.on_change(record.delivery_id)
            if last:
                break
            await asyncio.sleep(self._pause)
        return outcome

    # Far above any reply a command sends; what is recorded of a reply is shorter still.
    MAX_REPLY_BYTES = 2**20

    async def _attempt(
        self, url: str, content: bytes, headers: dict[str, str], attempt: int
    ) -> tuple[DeliveryOutcome, bool]:
        started = time.perf_counter()
        try:
            # Read as it arrives, never past the limit: a broken or hostile app must not fill
            # the emulator's memory. A reply too long is the app's answer, not redelivered.
            async with self._client.stream("POST", url, content=content, headers=headers) as got:
                status, reply = got.status_code, bytearray()
                correlation = correlation_id(got.headers.get(CORRELATION_HEADER))
                async for chunk in got.aiter_bytes():
                    reply += chunk
                    if len(reply) > self.MAX_REPLY_BYTES:
                        late = _since(started)
                        return DeliveryOutcome(status, "", late, attempt, "ReplyTooLarge"), False
                text = reply.decode(got.charset_encoding or "utf-8", errors="replace")
        except httpx.UnsupportedProtocol as exc:
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), False
        except httpx.TransportError as exc:
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), True
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            # A URL httpx cannot use: trying again would not help.
            return DeliveryOutcome(None, "", _since(started), attempt, type(exc).__name__), False
        outcome = DeliveryOutcome(
            status, text, _since(started), attempt, correlation_id=correlation
        )
        return outcome, status >= 500

    def _record(self, record: _Record, outcome: DeliveryOutcome) -> None:
        self._database.execute(
            "INSERT INTO deliveries (delivery_id, kind, subject, url, attempt, status, error,"
            " body_sha256, body, reply, latency_ms, at, correlation_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                outcome.correlation_id,
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


def attempt_view(row: Any) -> dict[str, Any]:
    """One recorded attempt, as ``GET /_emulator/deliveries`` lists it."""
    return {
        "id": row["id"],
        "delivery_id": row["delivery_id"],
        "kind": row["kind"],
        "subject": row["subject"],
        "url": row["url"],
        "attempt": row["attempt"],
        "status": row["status"],
        "error": row["error"],
        "latency_ms": row["latency_ms"],
        "correlation_id": row["correlation_id"],
        "body_sha256": row["body_sha256"],
        "body": _json_or_none(row["body"]),
        "reply": recorded_reply(row["reply"], row["status"]),
        "at": iso_z(row["at"]),
    }


def recorded_deliveries(database: Database, delivery_id: str | None = None) -> list[dict[str, Any]]:
    if delivery_id is not None:
        rows = database.all(
            "SELECT * FROM deliveries WHERE delivery_id = ? ORDER BY id", (delivery_id,)
        )
    else:
        rows = database.all("SELECT * FROM deliveries ORDER BY id")
    return [attempt_view(row) for row in rows]


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def recorded_reply(text: str | None, status: int | None) -> Any:
    """The recorded reply, parsed as JSON when it is JSON (as ``DeliveryOutcome.reply``)."""
    if text is None:
        return None
    return DeliveryOutcome(status, text, 0.0, 0).reply()
