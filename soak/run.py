"""One soak run: the stack, the router, what was sent and answered (`Journal`), and the paced
traffic loop every phase uses."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from soak.bad_input import KINDS, BadDelivery, Refusal, bad_delivery, send
from soak.job_crashes import StepOutcome
from soak.platform_view import PlatformView
from soak.router import Arrival, Copy, Router
from soak.settings import REPLY_BUDGET_SECONDS, SoakSettings
from soak.stack import Stack

# Seconds a phase may run past its length before its loop stops sending.
OVERRUN_GRACE: Final = 2.0


@dataclass(frozen=True)
class Invocation:
    """A user typed `remember KEY VALUE` in chat; what Dailybot got back."""

    phase: str
    key: str
    value: str
    status: int | None
    message: str | None
    elapsed_ms: float | None
    error: str | None = None

    @property
    def result(self) -> str:
        """The reply that shows the handler ran (the example command's own words)."""
        return f"Got it: *{self.key}* is `{self.value}`."

    @property
    def answered(self) -> bool:
        return self.status == 200 and bool(self.message)


@dataclass(frozen=True)
class CrashRecord:
    key: str
    value: str
    victim: int
    mid_handler: bool  # the app was stalled inside the handler's platform call when killed
    exit_status: int | None
    during_lock: Copy | None  # a copy sent to a live app while the dead run's lock held
    invocation: Invocation
    after_lock: list[Copy]  # the copies Dailybot's next attempt became, sent at once
    usage_added: int
    stored: Any
    attempts: list[int | None]  # the emulator's attempts at this delivery, by status
    restarted: bool


@dataclass(frozen=True)
class JobRecord:
    """A delivery of a command that defers a job, and what its job should send: its
    follow-up (naming `key`) or, for a failing job, the failure message (naming `intent`)."""

    key: str
    intent: str
    fails: bool
    status: int | None
    message: str | None

    @property
    def answered(self) -> bool:
        """Dailybot got a 200 with a reply: "Queued KEY.", or "still working" when a copy
        sent at once to another process answered first (the job is queued either way)."""
        return self.status == 200 and bool(self.message)


@dataclass
class Journal:
    invocations: list[Invocation] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    usage_added: dict[str, int] = field(default_factory=dict)  # phase -> usage records added
    crashes: list[CrashRecord] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)
    job_crashes: list[StepOutcome] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)  # the platform's messages at the end
    faults_injected: Counter[str] = field(default_factory=Counter)
    faulted_calls: int = 0
    undrained: list[str] = field(default_factory=list)  # phases whose copies were still out

    def of(self, phase: str) -> list[Invocation]:
        return [i for i in self.invocations if i.phase == phase]


class SoakRun:
    """What every phase and row works with."""

    def __init__(self, settings: SoakSettings, stack: Stack, router: Router) -> None:
        self.settings = settings
        self.stack = stack
        self.router = router
        self.view = PlatformView(stack.emulator_url, stack.world)
        self.journal = Journal()
        self._lock = threading.Lock()
        self._direct = httpx.Client(
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=64),
            trust_env=False,
        )

    def close(self) -> None:
        self._direct.close()
        self.view.close()

    def key(self, phase: str, n: int) -> str:
        return f"soak{self.settings.seed}-{phase}-{n}"

    def prefix(self, phase: str) -> str:
        return f"soak{self.settings.seed}-{phase}-"

    # -- sending ---------------------------------------------------------------------------

    def invoke(self, phase: str, n: int) -> Invocation:
        key, value = self.key(phase, n), f"v{n}"
        try:
            answer = self.view.invoke(f"{key} {value}")
        except httpx.HTTPError as exc:
            invocation = Invocation(phase, key, value, None, None, None, type(exc).__name__)
        else:
            reply = answer.get("reply")
            message = reply.get("message") if isinstance(reply, dict) else None
            invocation = Invocation(
                phase,
                key,
                value,
                answer.get("status_code"),
                message if isinstance(message, str) else None,
                answer.get("elapsed_ms"),
                answer.get("error"),
            )
        with self._lock:
            self.journal.invocations.append(invocation)
        return invocation

    def invoke_job(self, key: str, intent: str, words: str, *, fails: bool) -> JobRecord:
        """A user types a command that defers a job (`intent KEY ...words`)."""
        try:
            answer = self.view.invoke(f"{key} {words}".strip(), intent=intent)
        except httpx.HTTPError:
            record = JobRecord(key, intent, fails, None, None)
        else:
            reply = answer.get("reply")
            message = reply.get("message") if isinstance(reply, dict) else None
            status = answer.get("status_code")
            record = JobRecord(
                key, intent, fails, status, message if isinstance(message, str) else None
            )
        with self._lock:
            self.journal.jobs.append(record)
        return record

    def send_bad(self, bad: BadDelivery, app: int) -> Refusal:
        refusal = send(self._direct, self.stack.apps.url(app), app, bad)
        with self._lock:
            self.journal.refusals.append(refusal)
        return refusal

    def send_copy(self, arrival: Arrival, app: int) -> Copy:
        """The captured bytes of a delivery, sent again straight to one app."""
        started = time.perf_counter()
        try:
            response = self._direct.post(
                self.stack.apps.url(app), content=arrival.body, headers=arrival.headers
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return Copy(arrival.digest, "direct", app, None, None, 0.0, type(exc).__name__)
        return Copy(
            arrival.digest,
            "direct",
            app,
            response.status_code,
            body if isinstance(body, dict) else None,
            time.perf_counter() - started,
        )

    def replayable(self, phase: str = "load") -> list[Arrival]:
        """First arrivals of `phase` older than the freshness window (with a second to spare)."""
        cutoff = time.time() - self.settings.max_age_seconds - 1
        prefix = self.prefix(phase)
        return [
            a
            for a in list(self.router.arrivals)
            if a.attempt == 1 and a.received_at < cutoff and (a.query or "").startswith(prefix)
        ]

    def replay(self, arrival: Arrival, app: int) -> Refusal:
        key = (arrival.query or "").split(" ", 1)[0]
        return self.send_bad(BadDelivery("replayed", key, arrival.body, arrival.headers), app)

    def _bad(self, phase: str, n: int, turn: int, rng: random.Random) -> Refusal:
        """The `turn`-th bad send of a phase: the kinds in turn, so a few sends cover them
        all, and now and then a replay once a captured delivery is old enough."""
        app = rng.choice(self.stack.apps.live())
        captured = self.replayable()
        if captured and rng.random() < 1 / (len(KINDS) + 1):
            return self.replay(rng.choice(captured), app)
        kind = KINDS[turn % len(KINDS)]
        bad = bad_delivery(
            kind,
            self.key(f"{phase}-bad", n),
            self.stack.world,
            now=time.time(),
            max_age=self.settings.max_age_seconds,
        )
        return self.send_bad(bad, app)

    # -- the traffic loop ------------------------------------------------------------------

    def drive(self, phase: str, count: int, seconds: float) -> None:
        """`count` sends at `settings.rate` a second (each a delivery, or bad input for a
        `bad_share` of them), stopping early at `seconds` plus a grace; then waits for the
        answers (each bounded by its HTTP timeout)."""
        rng = random.Random(f"{self.settings.seed}/{phase}")
        started = time.monotonic()
        stop_at = started + seconds + OVERRUN_GRACE
        workers = max(8, int(self.settings.rate * (REPLY_BUDGET_SECONDS + 2)))
        turns = itertools.count(rng.randrange(len(KINDS)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for n in range(count):
                due = started + n / self.settings.rate
                if due > stop_at:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                if rng.random() < self.settings.bad_share:
                    bad_rng = random.Random(f"{rng.random()}")
                    pool.submit(self._bad, phase, n, next(turns), bad_rng)
                else:
                    pool.submit(self.invoke, phase, n)

    def settle(self, phase: str) -> None:
        """Waits for the router's late copies of `phase`, noting if some never finished."""
        if not self.router.drain(timeout=REPLY_BUDGET_SECONDS * 3):
            self.journal.undrained.append(phase)


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Polls `condition` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
