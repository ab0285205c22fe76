"""`python -m soak` (`make soak ARGS=...`): one soak run; exit 1 when a row falls short."""

from __future__ import annotations

import sys

from soak.scenarios import run_soak
from soak.settings import parse_settings


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    try:
        result = run_soak(settings, echo=lambda line: print(line, flush=True))
    except ValueError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    print()
    print(result.table, end="")
    print(f"written to {result.path}")
    return 0 if result.holds else 1


if __name__ == "__main__":
    raise SystemExit(main())
