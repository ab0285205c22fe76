"""Reading every process's log: the runtime's one summary line per delivery, and secrets.

The runtime logs `delivery finished` once per delivery it answers, with the delivery's
`correlation_id`, `outcome` (`answered`, `duplicate`, `refused`, `failed`) and `reason`
(README, Observability). A run of a handler is an `answered` line, or a `failed` one whose
reason is not that the store or the intake itself failed before anything ran.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SUMMARY: Final = "delivery finished"
# `failed` outcomes in which no handler ran.
NOT_RUN: Final = frozenset({"store_unavailable", "internal_error", "not_configured"})
_DECODER: Final = json.JSONDecoder()


@dataclass(frozen=True)
class Outcome:
    log: str
    correlation_id: str | None
    kind: str | None
    outcome: str
    reason: str | None
    status: int | None

    @property
    def ran(self) -> bool:
        if self.outcome == "answered":
            return True
        return self.outcome == "failed" and self.reason not in NOT_RUN


def read_logs(paths: Iterable[Path]) -> dict[str, str]:
    """Each log's text by its path (two workers of the job crashes share a file name)."""
    return {str(path): path.read_text(errors="replace") for path in paths if path.exists()}


def _objects(line: str) -> Iterator[dict[str, Any]]:
    """Every JSON object in a line: threads of one process can write two records before a
    newline (a metrics blob and the next log line), so a line is not always one record."""
    index = 0
    while (start := line.find("{", index)) != -1:
        try:
            found, index = _DECODER.raw_decode(line, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(found, dict):
            yield found


def outcomes(logs: Mapping[str, str]) -> list[Outcome]:
    found = []
    for name, text in logs.items():
        for line in text.splitlines():
            if SUMMARY not in line:
                continue
            for record in _objects(line):
                if record.get("message") != SUMMARY:
                    continue
                found.append(
                    Outcome(
                        log=name,
                        correlation_id=record.get("correlation_id"),
                        kind=record.get("kind"),
                        outcome=str(record.get("outcome")),
                        reason=record.get("reason"),
                        status=record.get("status"),
                    )
                )
    return found


def runs_per_delivery(found: Iterable[Outcome]) -> Counter[str]:
    """How many times each delivery (by correlation id) ran a handler."""
    return Counter(o.correlation_id for o in found if o.ran and o.correlation_id)


@dataclass(frozen=True)
class SecretAudit:
    lines: int
    files: int
    secrets: int
    leaks: dict[str, int]  # log name -> how many distinct secrets it shows (never which)


def audit_secrets(logs: Mapping[str, str], secrets: Iterable[str]) -> SecretAudit:
    values = {secret for secret in secrets if secret}
    leaks = {}
    for name, text in logs.items():
        shown = sum(1 for value in values if value in text)
        if shown:
            leaks[name] = shown
    lines = sum(len(text.splitlines()) for text in logs.values())
    return SecretAudit(lines=lines, files=len(logs), secrets=len(values), leaks=leaks)
