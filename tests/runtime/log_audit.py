"""A session-wide audit of log output: no API key, signature or exchange token in any line.

Captures what the runtime's logger and the root logger write (`testkit.log_audit`), then, at
the end, checks it and every `*.log` file the servers started by tests wrote (the
emulator's, `chalice local`'s) under the given directories.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from testkit.log_audit import captured_logs, leaks

__all__ = ["audit_logs", "leaks", "server_logs"]


def server_logs(directories: Iterable[Path]) -> dict[Path, str]:
    """Every `*.log` file under `directories`, by path."""
    found: dict[Path, str] = {}
    for directory in directories:
        if directory.is_dir():
            for path in sorted(directory.rglob("*.log")):
                found[path] = path.read_text(errors="replace")
    return found


def audit_logs(
    secrets: Sequence[str], log_dirs: Callable[[], Iterable[Path]] = tuple
) -> Iterator[io.StringIO]:
    """Yields the capture; on the way out, fails if a secret reached any line or log file."""
    with captured_logs() as captured:
        yield captured
    problems = []
    if leaked := leaks(captured.getvalue(), secrets):
        problems.append(f"{len(leaked)} secret(s) in the test process's log output")
    for path, text in server_logs(log_dirs()).items():
        if leaked := leaks(text, secrets):
            problems.append(f"{len(leaked)} secret(s) in {path.name}")
    if problems:
        # Names where, never what: the failure message is output too.
        pytest.fail("; ".join(problems), pytrace=False)
