"""`make run`'s console shows the app log's self-registration errors, each once, as written."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.app_log import RegistrationErrors


def _line(level: str, message: str, **extra: str) -> bytes:
    return json.dumps({"level": level, "message": message, **extra}).encode() + b"\n"


def test_only_registration_errors_are_shown_once_each_even_when_half_written(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    watcher = RegistrationErrors(log)
    assert watcher.new() == []  # no log yet

    refused = _line("ERROR", "self-registration: the platform refused schedule x declared by m.f")
    failed = _line(
        "ERROR",
        "self-registration failed; it will be tried again",
        exception="Traceback ...\nchalicelib.dailybot.errors.ServerError: API answered 503",
    )
    log.write_bytes(
        b"Serving on http://127.0.0.1:8000\n"
        + _line("INFO", "self-registration applied")
        + _line("ERROR", "the handler raised")
        + refused
        + failed[:20]
    )
    first = watcher.new()
    with log.open("ab") as more:
        more.write(failed[20:])
    second = watcher.new()

    assert first == ["self-registration: the platform refused schedule x declared by m.f"]
    assert second == [
        "self-registration failed; it will be tried again"
        " (chalicelib.dailybot.errors.ServerError: API answered 503)"
    ]
    assert watcher.new() == []
