"""The emulator's SQLite file: one connection, the schema, and small query helpers.

Schedules, storage, activity, hooks, tokens, deliveries, messages and the virtual clock all live
here, so a restart with the same ``--db`` keeps everything.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, organization_uuid TEXT NOT NULL, command_uuid TEXT NOT NULL,
    user_uuid TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
    uuid TEXT PRIMARY KEY, command_uuid TEXT NOT NULL, organization_uuid TEXT NOT NULL,
    user_uuid TEXT, name TEXT NOT NULL, timezone_type TEXT NOT NULL, is_active INTEGER NOT NULL,
    cron TEXT, execution_frequency INTEGER NOT NULL, repeats INTEGER NOT NULL,
    payload TEXT NOT NULL, callback_url TEXT, is_owned_by_user INTEGER NOT NULL,
    executions INTEGER NOT NULL DEFAULT 0, next_fire_at REAL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS storage (
    scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, organization TEXT NOT NULL,
    user TEXT, category TEXT NOT NULL, action TEXT NOT NULL, label TEXT,
    metadata TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hooks (
    uuid INTEGER PRIMARY KEY AUTOINCREMENT, command_uuid TEXT NOT NULL UNIQUE,
    organization_uuid TEXT NOT NULL, user_uuid TEXT NOT NULL, subscriptions TEXT NOT NULL,
    subscribed_objects TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL, kind TEXT NOT NULL,
    url TEXT NOT NULL, attempt INTEGER NOT NULL, status INTEGER, error TEXT,
    body_sha256 TEXT NOT NULL, at REAL NOT NULL, subject TEXT, body TEXT, reply TEXT,
    latency_ms REAL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, organization_uuid TEXT NOT NULL,
    command_uuid TEXT NOT NULL, user_uuid TEXT, payload TEXT NOT NULL, created_at REAL NOT NULL
);
"""

# Columns added after a table was first shipped: a database file from an older emulator gains
# them on start, so `make run` keeps working on an existing `.local/emulator.db`.
ADDED_COLUMNS = (
    ("deliveries", "subject", "TEXT"),
    ("deliveries", "body", "TEXT"),
    ("deliveries", "reply", "TEXT"),
    ("deliveries", "latency_ms", "REAL"),
)

Row = sqlite3.Row


class Database:
    """A single SQLite connection shared by the server; writes commit immediately."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection serves the event loop and the scheduler; the lock keeps them apart.
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._connection.executescript(SCHEMA)
            self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        for table, column, kind in ADDED_COLUMNS:
            # Table and column names are the constants above, never input.
            columns = self._connection.execute(f"PRAGMA table_info({table})")
            present = {row["name"] for row in columns}
            if column not in present:
                self._connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> int:
        """Run one statement; answers how many rows it changed."""
        with self._lock:
            return self._connection.execute(sql, parameters).rowcount

    def insert(self, sql: str, parameters: tuple[Any, ...] = ()) -> int:
        """Run one INSERT; answers the id of the new row."""
        with self._lock:
            return int(self._connection.execute(sql, parameters).lastrowid or 0)

    def one(self, sql: str, parameters: tuple[Any, ...] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._connection.execute(sql, parameters).fetchone()
            return row

    def all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Row]:
        with self._lock:
            return list(self._connection.execute(sql, parameters).fetchall())

    def get_meta(self, name: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_meta(self, name: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def close(self) -> None:
        with self._lock:
            self._connection.close()
