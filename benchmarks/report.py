"""How a benchmark reports: one row per figure (ours, the peer's, the bare route's, the ratio and
the target), printed as it is measured and collected by `make bench` into the README's table.

A benchmark module runs in its own process. Its rows go to the console and, when `make bench`
runs it, as JSON lines to the file `BENCH_ROWS` names. `BENCH_QUICK=1` asks for fewer samples.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Final, TextIO

ROWS_ENV: Final = "BENCH_ROWS"
QUICK_ENV: Final = "BENCH_QUICK"
HEADER: Final = ("benchmark", "ours", "peer", "bare", "ratio", "target")


@dataclass(frozen=True)
class Row:
    """One line of the table; the figures are already formatted with their units."""

    benchmark: str
    ours: str
    peer: str
    bare: str
    ratio: str
    target: str

    def cells(self) -> tuple[str, ...]:
        return (self.benchmark, self.ours, self.peer, self.bare, self.ratio, self.target)


class _Console:
    """Where rows are printed: stdout, until `silence_stdout` keeps a copy of it."""

    stream: TextIO = sys.stdout


def quick() -> bool:
    return os.environ.get(QUICK_ENV) == "1"


def silence_stdout() -> None:
    """Send what the apps print (log and EMF lines) to /dev/null; rows still reach the console.

    Done on the file descriptor, so loggers that kept the original `sys.stdout` are silenced
    too, and writing a line still costs what it costs in Lambda (a write to a pipe or file).
    """
    sys.stdout.flush()
    _Console.stream = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def say(text: str) -> None:
    print(text, file=_Console.stream, flush=True)


def emit(row: Row) -> None:
    say(f"  {row.benchmark}: ours {row.ours} | peer {row.peer} | bare {row.bare} | {row.ratio}")
    path = os.environ.get(ROWS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as rows:
            rows.write(json.dumps(asdict(row)) + "\n")


def read_rows(path: str) -> list[Row]:
    with open(path, encoding="utf-8") as rows:
        return [Row(**json.loads(line)) for line in rows if line.strip()]


def markdown(rows: Iterable[Row]) -> str:
    """The README's Benchmarks table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def ratio(ours: float, baseline: float, what: str) -> str:
    return f"{ours / baseline:.2f}x {what}" if baseline else "n/a"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:,.0f} ms"


def mib(size_bytes: float) -> str:
    return f"{size_bytes / 2**20:.1f} MiB"
