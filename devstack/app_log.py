"""What of the app's log `make run` shows on its console: self-registration's errors.

The app logs JSON lines to `.local/app.log`; a declaration the platform refused, or a
reconcile that failed, is an ERROR line there that an author would not look for. The console
shows each one as it is written, naming the handler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

PREFIX: Final = "self-registration"  # what every such line names


class RegistrationErrors:
    """Reads the lines appended to the app's log since the last call."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""

    def new(self) -> list[str]:
        """The registration errors written since the last call, one console line each."""
        try:
            with self._path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except OSError:
            return []
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        return [shown for line in lines if (shown := console_line(line)) is not None]


def console_line(raw: bytes) -> str | None:
    """The console's line for one log line, or None when it is not a registration error."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("level") != "ERROR":
        return None
    message = str(record.get("message", ""))
    if PREFIX not in message:
        return None
    cause = str(record.get("exception") or "").strip().splitlines()
    return f"{message} ({cause[-1]})" if cause else message
