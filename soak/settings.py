"""What a soak run does and how hard: every count, rate and time limit, from flags or a preset."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Final

from devstack.stack import STATE_DIR
from soak.job_texts import MAX_FAILING

# How long Dailybot waits for a reply: the budget every answer is measured against.
REPLY_BUDGET_SECONDS: Final = 10.0


@dataclass(frozen=True)
class SoakSettings:
    """One run's settings. The defaults suit a 2-core machine; flags raise them."""

    seed: int = 1
    apps: int = 3
    rate: float = 5.0
    load_seconds: float = 60.0
    fault_seconds: float = 30.0
    duplicate_share: float = 0.3
    bad_share: float = 0.15
    replays: int = 5
    crashes: int = 2
    jobs: int = 40
    job_failures: int = 5
    job_crashes: int = 1
    job_timeout_seconds: int = 5
    lock_seconds: int = 11
    max_age_seconds: int = 20
    log_level: str = "INFO"
    out: Path = STATE_DIR / "soak"

    @property
    def redelivery_pause(self) -> float:
        """Dailybot's pause before it delivers again: longer than a crashed run's lock."""
        return self.lock_seconds + 1.0

    @property
    def load_count(self) -> int:
        return math.ceil(self.rate * self.load_seconds)

    @property
    def fault_count(self) -> int:
        return math.ceil(self.rate * self.fault_seconds)

    def problems(self) -> list[str]:
        """Why these settings cannot make a meaningful run (empty when they can)."""
        found = []
        if self.apps < 2:
            found.append("--apps must be at least 2 (copies go to different processes)")
        if not 0 < self.rate <= 200:
            found.append("--rate must be above 0 and at most 200 deliveries a second")
        if self.load_seconds <= 0 or self.fault_seconds < 0:
            found.append("--load-seconds must be above 0 and --fault-seconds at least 0")
        if not (0 <= self.duplicate_share <= 1 and 0 <= self.bad_share < 1):
            found.append("--duplicate-share must be in [0, 1] and --bad-share in [0, 1)")
        if self.lock_seconds <= REPLY_BUDGET_SECONDS:
            found.append("--lock-seconds must exceed the 10 s reply budget")
        if self.redelivery_pause + 3 > self.max_age_seconds:
            found.append("--max-age must leave 3 s after a redelivery (lock seconds + 1)")
        if self.crashes < 0 or self.replays < 0:
            found.append("--crashes and --replays must be at least 0")
        return found + self._job_problems()

    def _job_problems(self) -> list[str]:
        found = []
        if self.jobs < 1 or self.job_crashes < 0:
            found.append("--jobs must be at least 1 and --job-crashes at least 0")
        if not 0 <= self.job_failures <= min(self.jobs, MAX_FAILING):
            found.append(f"--job-failures must be in [0, min(--jobs, {MAX_FAILING})]")
        if not 3 <= self.job_timeout_seconds <= 60:
            found.append("--job-timeout must be in [3, 60] seconds")
        return found

    def describe(self) -> list[tuple[str, str]]:
        """Every setting as printable (name, value) pairs, derived ones included."""
        pairs = [(name, str(value)) for name, value in asdict(self).items()]
        pairs.append(("redelivery_pause", f"{self.redelivery_pause:g}"))
        pairs.append(("reply_budget_seconds", f"{REPLY_BUDGET_SECONDS:g}"))
        return pairs


# `make test` runs this one: every row, briefly (well under 90 s on 2 cores).
SHORT: Final = SoakSettings(
    apps=2,
    rate=4.0,
    load_seconds=6.0,
    fault_seconds=6.0,
    bad_share=0.3,
    replays=3,
    crashes=1,
    jobs=8,
    job_failures=2,
    job_crashes=1,
)


def parse_settings(argv: list[str] | None = None) -> SoakSettings:
    parser = argparse.ArgumentParser(
        prog="python -m soak",
        description="Soak and chaos run of the local stack; exits 1 when a row falls short.",
    )
    parser.add_argument("--short", action="store_true", help="the brief preset `make test` runs")
    defaults = SoakSettings()
    flags: list[tuple[str, type, str]] = [
        ("seed", int, "seed of every random choice"),
        ("apps", int, "app processes sharing the idempotency table"),
        ("rate", float, "deliveries a second during the load and fault phases"),
        ("load-seconds", float, "length of the load phase (duplicates and bad input mixed in)"),
        ("fault-seconds", float, "length of the platform-faults phase"),
        ("duplicate-share", float, "share of load deliveries sent 2 to 5 times"),
        ("bad-share", float, "share of sends that are bad input"),
        ("replays", int, "stale replays of captured deliveries"),
        ("crashes", int, "app processes killed mid-handler"),
        ("jobs", int, "deliveries of a command that defers a job (a share duplicated)"),
        ("job-failures", int, f"of those, jobs that always fail (at most {MAX_FAILING})"),
        ("job-crashes", int, "rounds of killing a job worker at each step of a job"),
        ("job-timeout", int, "JOBS_TIMEOUT_SECONDS: a killed worker's job runs again after it"),
        ("lock-seconds", int, "IDEMPOTENCY_LOCK_SECONDS of the apps"),
        ("max-age", int, "DAILYBOT_MAX_DELIVERY_AGE of the apps"),
        ("log-level", str, "POWERTOOLS_LOG_LEVEL of the apps"),
        ("out", Path, "directory for the table, the settings and every process's log"),
    ]
    for flag, kind, text in flags:
        parser.add_argument(f"--{flag}", type=kind, default=None, help=text)
    options = vars(parser.parse_args(argv))
    base = SHORT if options.pop("short") else defaults
    chosen = {key: value for key, value in options.items() if value is not None}
    if "max_age" in chosen:
        chosen["max_age_seconds"] = chosen.pop("max_age")
    if "job_timeout" in chosen:
        chosen["job_timeout_seconds"] = chosen.pop("job_timeout")
    return replace(base, **chosen)
