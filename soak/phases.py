"""The phases of a run, in order: what each does to the stack and records in the journal.

- `MixedLoad`: deliveries at the set rate, a share duplicated by the router, bad input mixed in.
- `PlatformFaults`: the same traffic while the emulator injects 429s, 500/503 bursts and 3 s
  stalls into a share of the platform calls.
- `DeliveryCrashes`: an app killed (SIGKILL) while a handler is stalled in a platform call,
  then restarted; Dailybot redelivers after the lock expires, to every live app at once.
- `DeferredJobs`: deliveries of commands that defer a job (a share duplicated, a few jobs
  failing on every attempt), waits for every job's follow-up or failure message, then kills
  a job worker (SIGKILL) at each step of a job (`soak.job_crashes`), `--job-crashes` rounds.
- `StaleReplays`: captured deliveries sent again once older than the freshness window.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Protocol

from soak.job_crashes import Platform, StepOutcome, crash_every_step
from soak.job_texts import FAILING_INTENTS, JOB_INTENT, failure_marker, follow_up_text
from soak.run import CrashRecord, JobRecord, SoakRun, wait_until

FAULT_PATHS: Final = ("/v1/platform/storage/", "/v1/platform/activity/")
SPIKE_MS: Final = 3000
# How long a crash's handler is held inside its platform call: long enough to kill it there.
STALL_MS: Final = 5000
# The first platform call of a command's run: the runtime's usage record, before the handler.
CRASH_PATH: Final = "/v1/platform/activity/"


class Phase(Protocol):
    name: str

    def run(self, run: SoakRun) -> None: ...


def run_phase(run: SoakRun, phase: Phase) -> None:
    """Runs `phase`, waits for its late copies, and counts the usage records it added."""
    before = run.view.usage_records()
    phase.run(run)
    run.settle(phase.name)
    run.journal.usage_added[phase.name] = run.view.usage_records() - before


class MixedLoad:
    name = "load"

    def run(self, run: SoakRun) -> None:
        run.router.duplicate_share = run.settings.duplicate_share
        try:
            run.drive(self.name, run.settings.load_count, run.settings.load_seconds)
        finally:
            run.router.duplicate_share = 0.0


class PlatformFaults:
    name = "faults"

    def run(self, run: SoakRun) -> None:
        stop = threading.Event()
        injector = threading.Thread(target=self._inject, args=(run, stop), daemon=True)
        injector.start()
        try:
            run.drive(self.name, run.settings.fault_count, run.settings.fault_seconds)
        finally:
            stop.set()
            injector.join(timeout=5)
            left = sum(int(fault["times"]) for fault in run.view.pending_faults())
            run.view.clear_faults()
            run.journal.faulted_calls -= left

    @staticmethod
    def _inject(run: SoakRun, stop: threading.Event) -> None:
        """One fault a second (seeded), for at most the phase's length plus its grace."""
        rng = random.Random(f"{run.settings.seed}/faults/inject")
        for _ in range(int(run.settings.fault_seconds) + 2):
            if stop.wait(1.0):
                return
            kind, fault = _fault(rng)
            run.view.add_fault(fault)
            run.journal.faults_injected[kind] += 1
            run.journal.faulted_calls += int(fault["times"])


def _fault(rng: random.Random) -> tuple[str, dict[str, Any]]:
    path = rng.choice(FAULT_PATHS)
    kind = rng.choice(("429 with Retry-After", "500/503 burst", "3 s stall"))
    if kind == "429 with Retry-After":
        return kind, {"path": path, "status": 429, "retry_after": 1, "times": 1}
    if kind == "500/503 burst":
        return kind, {"path": path, "status": rng.choice((500, 503)), "times": rng.randint(2, 4)}
    return kind, {"path": path, "delay_ms": SPIKE_MS, "times": rng.randint(1, 2)}


class DeliveryCrashes:
    name = "crashes"

    def run(self, run: SoakRun) -> None:
        rng = random.Random(f"{run.settings.seed}/crashes")
        for n in range(run.settings.crashes):
            run.journal.crashes.append(self._crash(run, n, rng.randrange(run.settings.apps)))

    def _crash(self, run: SoakRun, n: int, victim: int) -> CrashRecord:
        key, value = run.key(self.name, n), f"v{n}"
        before = run.view.usage_records()
        run.router.pin(f"{key} ", victim)
        # The usage record stalls, then fails: the killed run leaves no side effect behind.
        run.view.add_fault({"path": CRASH_PATH, "status": 503, "delay_ms": STALL_MS, "times": 1})
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(run.invoke, self.name, n)
            mid_handler = wait_until(lambda: not run.view.pending_faults(), timeout=10)
            exit_status = run.stack.apps.kill(victim)
            during_lock = None
            arrival = next((a for a in run.router.arrivals if key + " " in (a.query or "")), None)
            others = [app for app in run.stack.apps.live() if app != victim]
            if arrival is not None and others:
                during_lock = run.send_copy(arrival, others[0])
            run.stack.apps.restart(victim)
            invocation = pending.result()
        run.view.clear_faults()
        digest = arrival.digest if arrival else ""
        attempts = sorted(
            (a for a in run.view.deliveries() if a["body_sha256"] == digest),
            key=lambda a: int(a["attempt"]),
        )
        return CrashRecord(
            key=key,
            value=value,
            victim=victim,
            mid_handler=mid_handler,
            exit_status=exit_status,
            during_lock=during_lock,
            invocation=invocation,
            after_lock=[c for c in run.router.copies if c.digest == digest and c.role == "fan_out"],
            usage_added=run.view.usage_records() - before,
            stored=run.view.stored(key),
            attempts=[a["status"] for a in attempts],
            restarted=victim in run.stack.apps.live(),
        )


# How long an ordinary job sleeps at most: the single worker runs one job at a time.
JOB_NAP_SECONDS: Final = 0.3
# Seconds to keep looking once every job has its message, for a second one.
DOUBLE_WINDOW: Final = 1.5


def expected_message(job: JobRecord) -> str:
    """What names this job in the platform's messages."""
    return failure_marker(job.intent) if job.fails else follow_up_text(job.key)


class DeferredJobs:
    name = "jobs"

    def run(self, run: SoakRun) -> None:
        s = run.settings
        rng = random.Random(f"{s.seed}/jobs")
        chosen = sorted(rng.sample(range(s.jobs), s.job_failures))
        failing = dict(zip(chosen, FAILING_INTENTS[: len(chosen)], strict=True))
        run.router.duplicate_share = s.duplicate_share
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                for n in range(s.jobs):
                    time.sleep(max(0.0, started + n / s.rate - time.monotonic()))
                    key = run.key(self.name, n)
                    if n in failing:
                        pool.submit(run.invoke_job, key, failing[n], "", fails=True)
                    else:
                        nap = f"{rng.uniform(0, JOB_NAP_SECONDS):.2f}"
                        pool.submit(run.invoke_job, key, JOB_INTENT, nap, fails=False)
        finally:
            run.router.duplicate_share = 0.0
        self._await_messages(run)
        for n in range(s.job_crashes):
            run.journal.job_crashes += self._crash_every_step(run, n)

    @staticmethod
    def _crash_every_step(run: SoakRun, n: int) -> list[StepOutcome]:
        world = run.stack.world
        platform = Platform(
            world.organization_uuid, world.user_uuid, world.user_full_name, run.view.messages
        )
        return crash_every_step(
            run.stack.worker_environment, run.stack.logs / f"job-crashes-{n}", platform
        )

    @staticmethod
    def _await_messages(run: SoakRun) -> None:
        """Until every queued job's message arrived (bounded), then a little longer."""
        s = run.settings
        wanted = [expected_message(job) for job in run.journal.jobs if job.answered]

        def arrived() -> bool:
            messages = run.view.messages()
            return all(any(marker in m for m in messages) for marker in wanted)

        bound = s.job_timeout_seconds * 2 + s.jobs * JOB_NAP_SECONDS + 10
        if wait_until(arrived, timeout=bound, step=0.25):
            time.sleep(DOUBLE_WINDOW)
        run.journal.follow_ups = run.view.messages()


class StaleReplays:
    name = "replays"

    def run(self, run: SoakRun) -> None:
        sent = sum(1 for r in run.journal.refusals if r.kind == "replayed")
        wanted = max(0, run.settings.replays - sent)
        if not wanted:
            return
        wait_until(lambda: bool(run.replayable()), timeout=run.settings.max_age_seconds + 2)
        captured = run.replayable()
        rng = random.Random(f"{run.settings.seed}/replays")
        for _ in range(wanted if captured else 0):
            run.replay(rng.choice(captured), rng.choice(run.stack.apps.live()))


def kinds(counter: Counter[str]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counter.items()))
