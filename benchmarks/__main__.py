"""Runs every benchmark module (`bench_*.py`), each in its own process so none warms another,
then prints their rows as the README's Benchmarks table.

    python -m benchmarks [--quick] [bench_intake bench_latency ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from benchmarks.report import QUICK_ENV, ROWS_ENV, markdown, read_rows

# The README's order: what users feel first; modules not named here run after these.
ORDER: Final = (
    "bench_latency",
    "bench_intake",
    "bench_cold_start",
    "bench_dynamodb",
    "bench_memory",
    "bench_client",
)


def ordered(modules: Iterable[str]) -> list[str]:
    found = set(modules)
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples, for a first look")
    parser.add_argument("modules", nargs="*", help="only these bench_* modules")
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    failed = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        rows_path = str(Path(scratch) / "rows.jsonl")
        Path(rows_path).touch()
        env = {**os.environ, ROWS_ENV: rows_path, QUICK_ENV: "1" if args.quick else "0"}
        for module in ordered(path.stem for path in here.glob("bench_*.py")):
            if args.modules and module not in args.modules:
                continue
            print(f"== {module}", flush=True)
            module_started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", f"benchmarks.{module}"], env=env, check=False
            )
            print(f"   ({time.monotonic() - module_started:.0f} s)", flush=True)
            failed += result.returncode != 0
        rows = read_rows(rows_path)
    print(f"\n{markdown(rows)}\n")
    print(
        f"{len(rows)} rows in {time.monotonic() - started:.0f} s{' (quick)' if args.quick else ''}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
