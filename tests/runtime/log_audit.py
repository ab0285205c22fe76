"""A session-wide audit of log output: no API key, signature or exchange token in any line.

Tees the runtime logger's stream and adds a handler on the root logger (which the runtime
protects like any root handler, as Lambda's own), then checks everything written at the end.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence

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


def audit_logs(secrets: Sequence[str]) -> Iterator[io.StringIO]:
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
    text = captured.getvalue()
    leaked = [secret for secret in secrets if secret in text]
    if leaked:
        pytest.fail(f"{len(leaked)} secret(s) appeared in log output", pytrace=False)
