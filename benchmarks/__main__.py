"""Runs every benchmark module (`bench_*.py`), each in its own process so none warms another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    selected = sys.argv[1:]
    failed = 0
    for module in sorted(here.glob("bench_*.py")):
        if selected and module.stem not in selected:
            continue
        print(f"== {module.stem}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"benchmarks.{module.stem}"], check=False)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
