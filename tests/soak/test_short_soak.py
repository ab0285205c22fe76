"""The short soak: `make soak`'s phases against real processes, briefly; every row must hold.

Moto's server, the emulator, two `chalice local` apps and a job worker run as processes; the
harness loads them, duplicates deliveries across processes, injects platform faults, kills an
app mid-handler, defers jobs and kills the worker mid-job, and mixes in bad input, then
checks each row against the platform's records and every process's log (see `soak/`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from soak.scenarios import run_soak
from soak.settings import SHORT

pytestmark = [pytest.mark.soak, pytest.mark.e2e]

ROWS = [
    "load",
    "duplicates",
    "platform faults",
    "crashes",
    "job crashes",
    "bad input",
    "secrets",
    "nothing lost",
]


@pytest.mark.timeout(180)
def test_every_row_of_the_short_soak_holds(tmp_path: Path) -> None:
    lines: list[str] = []

    result = run_soak(replace(SHORT, out=tmp_path), echo=lines.append)

    assert [row.name for row in result.rows] == ROWS
    short = [f"{row.name}: {row.measured}" for row in result.rows if not row.holds]
    assert not short, "\n".join(short)
    assert result.path.read_text(encoding="utf-8") == result.table
    phases = [line.split()[1] for line in lines if line.startswith("phase: ")]
    assert phases == ["load", "faults", "crashes", "jobs", "replays"]
