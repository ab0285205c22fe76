"""The table a soak ends with: one row per claim, what was done, and whether it held."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    name: str
    did: str  # what the run did for this row, with its figures
    holds_when: str
    holds: bool
    measured: str  # what was measured; on a shortfall, what fell short

    @property
    def verdict(self) -> str:
        return "holds" if self.holds else "FALLS SHORT"


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: Sequence[Row], settings: Sequence[tuple[str, str]], seconds: float) -> str:
    """The table and the settings, as Markdown (readable as plain text too)."""
    lines = [
        "| row | what it did | holds when | measured | result |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.name} | {_cell(row.did)} | {_cell(row.holds_when)} | {_cell(row.measured)} "
        f"| {row.verdict} |"
        for row in rows
    ]
    held = sum(row.holds for row in rows)
    lines += [
        "",
        f"{held} of {len(rows)} rows hold; run took {seconds:.0f} s.",
        "",
        "settings: " + ", ".join(f"{name}={value}" for name, value in settings),
    ]
    return "\n".join(lines) + "\n"


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "table.md"
    path.write_text(text, encoding="utf-8")
    return path
