"""The router: where API Gateway stands, between the emulator (Dailybot) and the app fleet.

Every delivery the emulator sends arrives here and goes on to one live app, round robin; the
router answers the emulator with that app's answer, or 502 when the app died under it (what
API Gateway answers when a Lambda container crashes). On top of that it makes the chaos of a
real network: a share of deliveries is sent 2 to 5 times, some copies at once to other
processes, some after the first answer; a delivery pinned by the crash scenario goes to its
victim first and, when Dailybot delivers it again, to every live app at once.

Every copy sent and every answer got is recorded (`Copy`), and every exchange token seen, for
the checks at the end.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from soak.stack import AppFleet

BAD_GATEWAY: Final = b'{"message": "Bad Gateway"}'
# Background copies (sent after the first answer) a run may have in flight at once.
COPY_WORKERS: Final = 16


@dataclass(frozen=True)
class Arrival:
    """A delivery as the emulator sent it (one per attempt; attempts share `digest`)."""

    digest: str
    body: bytes
    headers: dict[str, str]
    received_at: float
    query: str | None
    attempt: int  # 1 for the first arrival of these bytes


@dataclass(frozen=True)
class Copy:
    """One copy of a delivery sent to one app, and what came back (`status` None: no answer)."""

    digest: str
    role: str  # primary, at_once, later, fan_out
    app: int
    status: int | None
    body: dict[str, Any] | None
    seconds: float
    error: str | None = None

    @property
    def message(self) -> str | None:
        value = (self.body or {}).get("message")
        return value if isinstance(value, str) else None


@dataclass
class CopyPlan:
    """Where the copies of one delivery go besides the primary."""

    at_once: list[int] = field(default_factory=list)
    later: list[int] = field(default_factory=list)


class Router:
    """Forwards deliveries to the fleet and records everything; see the module docstring."""

    def __init__(self, fleet: AppFleet, seed: int) -> None:
        self._fleet = fleet
        self._seed = seed
        self._lock = threading.Lock()
        self._next = 0
        self._client = httpx.Client(
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=0),
            trust_env=False,
        )
        # Copies sent at once have their own threads, so late copies never hold them back.
        self._at_once = ThreadPoolExecutor(max_workers=COPY_WORKERS * 4)
        self._later = ThreadPoolExecutor(max_workers=COPY_WORKERS)
        self._pending: list[Future[Any]] = []
        self.duplicate_share = 0.0
        self.arrivals: list[Arrival] = []
        self.copies: list[Copy] = []
        self.tokens: set[str] = set()
        self._pins: dict[str, int] = {}
        self._seen: Counter[str] = Counter()

    # -- what the scenarios control --------------------------------------------------------

    def pin(self, marker: str, app: int) -> None:
        """The first delivery whose query contains `marker` goes to `app`; its redeliveries
        go to every live app at once."""
        with self._lock:
            self._pins[marker] = app

    def drain(self, timeout: float) -> bool:
        """Waits for the copies still being sent; False if some are still out after `timeout`."""
        with self._lock:
            pending, self._pending = self._pending, []
        _, not_done = wait(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        self._at_once.shutdown(wait=False, cancel_futures=True)
        self._later.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # -- one delivery ----------------------------------------------------------------------

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        arrival = self._arrive(body, headers)
        pinned = self._pinned(arrival)
        if pinned is not None and arrival.attempt == 1:
            return self._answer(self._send(arrival, "primary", pinned))
        if pinned is not None:
            return self._answer(self._fan_out(arrival))
        primary = self._pick()
        plan = self._plan(arrival, primary) if arrival.attempt == 1 else CopyPlan()
        for app in plan.at_once:
            self._track(self._at_once.submit(self._send, arrival, "at_once", app))
        copy = self._send(arrival, "primary", primary)
        if plan.later:
            self._track(self._later.submit(self._send_later, arrival, plan.later))
        return self._answer(copy)

    def _arrive(self, body: bytes, headers: dict[str, str]) -> Arrival:
        query = token = None
        try:
            data = json.loads(body)
            if isinstance(data, dict):
                query = data.get("query") if isinstance(data.get("query"), str) else None
                token = data.get("exchange_token")
        except ValueError:
            pass
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self._seen[digest] += 1
            attempt = self._seen[digest]
            arrival = Arrival(digest, body, headers, time.time(), query, attempt)
            self.arrivals.append(arrival)
            if isinstance(token, str) and token:
                self.tokens.add(token)
        return arrival

    def _pinned(self, arrival: Arrival) -> int | None:
        with self._lock:
            for marker, app in self._pins.items():
                if arrival.query and marker in arrival.query:
                    return app
        return None

    def _pick(self) -> int:
        live = self._fleet.live()
        with self._lock:
            self._next += 1
            return live[self._next % len(live)]

    def _plan(self, arrival: Arrival, primary: int) -> CopyPlan:
        """Seeded by the delivery's query, so a run with the same seed makes the same plan."""
        plan = CopyPlan()
        if not arrival.query or not self.duplicate_share:
            return plan
        rng = random.Random(f"{self._seed}/{arrival.query}")
        if rng.random() >= self.duplicate_share:
            return plan
        others = [app for app in self._fleet.live() if app != primary]
        rng.shuffle(others)
        for _ in range(rng.randint(1, 4)):  # 2 to 5 copies in all
            if others and rng.random() < 0.5:
                plan.at_once.append(others.pop())
            else:
                plan.later.append(rng.choice(self._fleet.live()))
        return plan

    def _send_later(self, arrival: Arrival, apps: list[int]) -> None:
        rng = random.Random(f"{self._seed}/later/{arrival.query}")
        for app in apps:
            time.sleep(rng.uniform(0.0, 0.5))
            self._send(arrival, "later", app)

    def _fan_out(self, arrival: Arrival) -> Copy:
        live = self._fleet.live()
        futures = [self._at_once.submit(self._send, arrival, "fan_out", app) for app in live]
        copies = [future.result() for future in futures]
        return copies[0]

    def _send(self, arrival: Arrival, role: str, app: int) -> Copy:
        started = time.perf_counter()
        try:
            response = self._client.post(
                self._fleet.url(app), content=arrival.body, headers=arrival.headers
            )
        except httpx.TransportError as exc:
            copy = Copy(arrival.digest, role, app, None, None, _since(started), type(exc).__name__)
        else:
            copy = Copy(
                arrival.digest, role, app, response.status_code, _json(response), _since(started)
            )
        with self._lock:
            self.copies.append(copy)
        return copy

    def _track(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.append(future)

    @staticmethod
    def _answer(copy: Copy) -> tuple[int, bytes]:
        if copy.status is None:
            return 502, BAD_GATEWAY
        return copy.status, json.dumps(copy.body).encode()


def _since(started: float) -> float:
    return time.perf_counter() - started


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
