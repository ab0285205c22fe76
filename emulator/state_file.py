"""The emulator's whole state as one JSON file: written on exit (``--export-on-exit``), read on
start (``--import``), downloadable from ``GET /_emulator/state``, so a team can share a scenario.

The file holds every record of the state's tables (storage, schedules, hooks, activity,
messages, deliveries and their runs, published events, platform calls, users added at run
time), the clock, and the pending faults. Columns holding JSON are written as JSON values, so
a scenario can be read and edited by hand; instants are Unix seconds. Exchange tokens are not
written (the emulator keeps only their digests): a command fetches new ones.

Importing replaces what the database holds with the file's content, in one transaction; a file
that is not such a state is refused with a message that names what is wrong.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from emulator.clock import VIRTUAL_NOW
from emulator.database import Database
from emulator.errors import ApiError
from emulator.faults import Fault, parse_fault
from emulator.timestamps import iso_z

FORMAT = "dailybot-emulator-state"
VERSION = 1
# The tables a state holds, in an order that keeps every reference after what it names.
TABLES = (
    "users",
    "storage",
    "schedules",
    "hooks",
    "activity",
    "occurrences",
    "runs",
    "deliveries",
    "messages",
    "api_calls",
)
JSON_COLUMNS = {
    "storage": ("value",),
    "schedules": ("payload",),
    "hooks": ("subscriptions", "subscribed_objects"),
    "activity": ("metadata",),
    "messages": ("payload",),
    "deliveries": ("body",),
    "runs": ("body",),
    "occurrences": ("body", "outcome"),
}


class StateFileError(ValueError):
    """The file cannot be imported; the message says why."""


def export_document(
    database: Database, clock_mode: str, now: float, faults: list[Any]
) -> dict[str, Any]:
    tables = {}
    for table in TABLES:
        # Table names are the constants above, never input.
        rows = database.all(f"SELECT * FROM {table} ORDER BY rowid")  # noqa: S608
        tables[table] = [_decoded(table, dict(row)) for row in rows]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso_z(time.time()),
        "clock": {"mode": clock_mode, "now": now, "iso": iso_z(now)},
        "faults": faults,
        "tables": tables,
    }


def write_document(document: dict[str, Any], path: Path) -> None:
    """Write ``document`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise StateFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f"{path} is not an emulator state (its 'format' is not {FORMAT!r})")
    if document.get("version") != VERSION:
        raise StateFileError(f"{path} has version {document.get('version')!r}; expected {VERSION}")
    return document


def import_document(database: Database, document: dict[str, Any]) -> list[Fault]:
    """Replace the database's state with ``document``'s; answers its pending faults."""
    tables = document.get("tables")
    if not isinstance(tables, dict):
        raise StateFileError("'tables' must be an object")
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise StateFileError(f"unknown tables: {', '.join(unknown)} (known: {', '.join(TABLES)})")
    # Table names are the constants above, never input.
    clear = [f"DELETE FROM {table}" for table in TABLES]  # noqa: S608
    statements: list[tuple[str, tuple[Any, ...]]] = [(sql, ()) for sql in clear]
    for table in TABLES:
        statements += _inserts(database, table, tables.get(table, []))
    statements += _clock_statements(document.get("clock"))
    faults = _faults(document.get("faults", []))
    try:
        database.transaction(statements)
    except sqlite3.Error as exc:
        raise StateFileError(f"a record does not fit its table: {exc}") from exc
    return faults


def _inserts(database: Database, table: str, rows: Any) -> list[tuple[str, tuple[Any, ...]]]:
    if not isinstance(rows, list):
        raise StateFileError(f"tables.{table} must be a list")
    columns = database.columns(table)
    statements = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise StateFileError(f"tables.{table}[{index}] must be an object")
        extra = sorted(set(row) - columns)
        if extra:
            raise StateFileError(f"tables.{table}[{index}]: unknown columns {', '.join(extra)}")
        values = _encoded(table, row)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        # Column names were checked against the table's own.
        statements.append(
            (f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))  # noqa: S608
        )
    return statements


def _clock_statements(clock: Any) -> list[tuple[str, tuple[Any, ...]]]:
    if clock is None:
        return []
    now = clock.get("now") if isinstance(clock, dict) else None
    if not isinstance(now, int | float) or isinstance(now, bool):
        raise StateFileError("'clock.now' must be a number (Unix seconds)")
    return [
        (
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (VIRTUAL_NOW, repr(float(now))),
        )
    ]


def _faults(raw: Any) -> list[Fault]:
    if not isinstance(raw, list):
        raise StateFileError("'faults' must be a list")
    faults = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise StateFileError(f"faults[{index}] must be an object")
        try:
            faults.append(parse_fault(item))
        except ApiError as exc:
            raise StateFileError(f"faults[{index}]: {exc.body.get('details')}") from exc
    return faults


def _decoded(table: str, row: dict[str, Any]) -> dict[str, Any]:
    for column in JSON_COLUMNS.get(table, ()):
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return row


def _encoded(table: str, row: dict[str, Any]) -> dict[str, Any]:
    encoded = dict(row)
    for column in JSON_COLUMNS.get(table, ()):
        if encoded.get(column) is not None:
            encoded[column] = json.dumps(encoded[column], ensure_ascii=False)
    return encoded
