"""A session-wide audit of log output: no API key, signature or exchange token in any line.

Tees the runtime logger's stream and adds a handler on the root logger (which the runtime
protects like any root handler, as Lambda's own), then, at the end, checks everything written
there and every `*.log` file the servers started by tests wrote (the emulator's, `chalice
local`'s) under the given directories.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from chalicelib.observability import logger


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase | object) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)  # type: ignore[attr-defined]
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()  # type: ignore[attr-defined]


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets that occur in `text` (empty values never match)."""
    return [secret for secret in secrets if secret and secret in text]


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
    captured = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    original = handler.setStream(_Tee(handler.stream, captured))  # type: ignore[arg-type]
    root_handler = logging.StreamHandler(captured)
    root_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(root_handler)
    try:
        yield captured
    finally:
        logging.getLogger().removeHandler(root_handler)
        if original is not None:
            handler.setStream(original)
    problems = []
    if leaked := leaks(captured.getvalue(), secrets):
        problems.append(f"{len(leaked)} secret(s) in the test process's log output")
    for path, text in server_logs(log_dirs()).items():
        if leaked := leaks(text, secrets):
            problems.append(f"{len(leaked)} secret(s) in {path.name}")
    if problems:
        # Names where, never what: the failure message is output too.
        pytest.fail("; ".join(problems), pytrace=False)
