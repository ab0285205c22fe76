"""Capturing every log line a test writes, and finding secrets in them.

The runtime's logger writes to its own stream handler; everything else (the emulator,
httpx, libraries) reaches the root logger. `captured_logs()` tees the first and adds a
handler to the second, so the audit reads what would have reached CloudWatch or a terminal.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

from chalicelib.observability import logger


class _Tee(io.TextIOBase):
    def __init__(self, *streams: TextIO) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets that occur in `text` (empty values never match)."""
    return [secret for secret in secrets if secret and secret in text]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged inside the block, by the runtime's logger and through the root."""
    captured = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    original = handler.setStream(_Tee(handler.stream, captured))
    root_handler = logging.StreamHandler(captured)
    root_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(root_handler)
    try:
        yield captured
    finally:
        logging.getLogger().removeHandler(root_handler)
        if original is not None:
            handler.setStream(original)
