"""The emulator's SQLite file: one connection, the schema, and small query helpers.

Schedules, storage, activity, hooks, tokens, deliveries (each attempt, and each delivery as a
whole: ``runs``), messages, platform calls, published events, users added at run time and the
virtual clock all live here, so a restart with the same ``--db`` keeps everything.

Records the timeline shows (runs, occurrences, messages, platform calls) carry ``seq``, one
sequence across those tables, because under the virtual clock many share one instant.
"""

from __future__ import annotations

import secrets
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
    uuid INTEGER PRIMARY KEY AUTOINCREMENT, command_uuid TEXT NOT NULL,
    organization_uuid TEXT NOT NULL, user_uuid TEXT NOT NULL, subscriptions TEXT NOT NULL,
    subscribed_objects TEXT NOT NULL, UNIQUE (command_uuid, organization_uuid)
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
CREATE TABLE IF NOT EXISTS runs (
    delivery_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT,
    organization_uuid TEXT, command_uuid TEXT, user_uuid TEXT, url TEXT NOT NULL,
    occurrence_id INTEGER, replay_of TEXT, replay_mode TEXT, started_at REAL NOT NULL,
    started_wall REAL NOT NULL, finished_wall REAL, correlation_id TEXT, body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL, acts_as TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_correlation ON runs (correlation_id, seq);
CREATE INDEX IF NOT EXISTS runs_by_seq ON runs (seq);
CREATE TABLE IF NOT EXISTS occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    organization_uuid TEXT, user_uuid TEXT, subject TEXT NOT NULL, body TEXT NOT NULL,
    outcome TEXT, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, status INTEGER NOT NULL, organization_uuid TEXT, command_uuid TEXT,
    user_uuid TEXT, correlation_id TEXT, job TEXT, job_id TEXT, summary TEXT NOT NULL,
    request TEXT, response TEXT, latency_ms REAL NOT NULL, at REAL NOT NULL, wall REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_calls_by_correlation ON api_calls (correlation_id, seq);
CREATE TABLE IF NOT EXISTS users (
    uuid TEXT PRIMARY KEY, organization_uuid TEXT NOT NULL, full_name TEXT NOT NULL,
    timezone TEXT NOT NULL
);
"""

# Columns added after a table was first shipped: a database file from an older emulator gains
# them on start, so `make run` keeps working on an existing `.local/emulator.db`.
ADDED_COLUMNS = (
    ("deliveries", "subject", "TEXT"),
    ("deliveries", "body", "TEXT"),
    ("deliveries", "reply", "TEXT"),
    ("deliveries", "latency_ms", "REAL"),
    ("deliveries", "correlation_id", "TEXT"),
    ("messages", "seq", "INTEGER"),
    ("messages", "correlation_id", "TEXT"),
    ("messages", "job", "TEXT"),
    ("messages", "job_id", "TEXT"),
    ("messages", "wall", "REAL"),
)
# Indexes on added columns: created once those columns exist.
ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS messages_by_correlation ON messages (correlation_id, seq)",
    "CREATE INDEX IF NOT EXISTS deliveries_by_delivery ON deliveries (delivery_id, id)",
)
# The tables whose records carry `seq`.
SEQUENCED_TABLES = ("runs", "occurrences", "messages", "api_calls")
# The sequence never goes back, even after a reset empties those tables: a page that started a
# conversation at some seq must not miss what comes after it.
SEQ_FLOOR = "seq_floor"
# Names this database's timeline; a new one after an import (whose seqs are another's).
TIMELINE_ID = "timeline_id"

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
            self._one_hook_per_organization()
            self._connection.executescript(SCHEMA)
            self._add_missing_columns()
            for statement in ADDED_INDEXES:
                self._connection.execute(statement)
            self._seq = self._highest_seq()
            # Messages written by an older emulator have no `seq`: they come first.
            self._connection.execute("UPDATE messages SET seq = 0 WHERE seq IS NULL")
            self._connection.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)",
                (TIMELINE_ID, secrets.token_hex(8)),
            )

    def _one_hook_per_organization(self) -> None:
        """An older file held one hook per command; a public command has one per organization
        that uses it. Such a table is renamed aside, and its rows copied into the new one."""
        row = self._connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'hooks'"
        ).fetchone()
        if row is None or "command_uuid TEXT NOT NULL UNIQUE" not in row["sql"]:
            return
        self._connection.execute("ALTER TABLE hooks RENAME TO hooks_per_command")
        self._connection.executescript(SCHEMA)
        self._connection.execute("INSERT INTO hooks SELECT * FROM hooks_per_command")
        self._connection.execute("DROP TABLE hooks_per_command")

    def _add_missing_columns(self) -> None:
        for table, column, kind in ADDED_COLUMNS:
            # Table and column names are the constants above, never input.
            columns = self._connection.execute(f"PRAGMA table_info({table})")
            present = {row["name"] for row in columns}
            if column not in present:
                self._connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def _highest_seq(self) -> int:
        floor = self._connection.execute(
            "SELECT value FROM meta WHERE name = ?", (SEQ_FLOOR,)
        ).fetchone()
        highest = 0 if floor is None else int(floor[0])
        for table in SEQUENCED_TABLES:
            # Table names are the constants above, never input.
            row = self._connection.execute(f"SELECT MAX(seq) FROM {table}").fetchone()  # noqa: S608
            highest = max(highest, int(row[0] or 0))
        return highest

    def next_seq(self) -> int:
        """The next number of the timeline's sequence (one for every sequenced record)."""
        with self._lock:
            self._seq += 1
            return self._seq

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def keep_seq(self) -> None:
        """Remember where the sequence stands (before a reset empties its tables)."""
        self.set_meta(SEQ_FLOOR, str(self.last_seq))

    @property
    def timeline_id(self) -> str:
        return self.get_meta(TIMELINE_ID) or ""

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

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (one of the schema's, never input)."""
        with self._lock:
            rows = self._connection.execute(f"PRAGMA table_info({table})").fetchall()
        return {row["name"] for row in rows}

    def get_meta(self, name: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_meta(self, name: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``statements`` all or none (an import replaces the state in one go)."""
        with self._lock:
            self._connection.execute("BEGIN")
            try:
                for sql, parameters in statements:
                    self._connection.execute(sql, parameters)
                self._connection.execute(
                    "UPDATE meta SET value = ? WHERE name = ?", (secrets.token_hex(8), TIMELINE_ID)
                )
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            self._seq = self._highest_seq()

    def close(self) -> None:
        with self._lock:
            self._connection.close()
