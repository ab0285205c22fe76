"""The local queue: jobs in one SQLite file, durable across restarts, shared by processes.

A received job is hidden for a visibility window (like SQS); a worker that dies mid-job
leaves it to reappear when the window ends. Jobs out of attempts stay in the file marked
dead: that is the local dead-letter queue `make jobs` lists and replays.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from chalicelib.runtime.idempotency.sqlite_store import database_path
from chalicelib.runtime.jobs.message import JobMessage, decode_or_none
from chalicelib.runtime.jobs.queue import DeadJob, JobQueue, QueueUnavailable, ReceivedJob

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT ''
)
"""


class SQLiteJobQueue(JobQueue):
    """A job queue and its dead letters in the SQLite file at `path`."""

    def __init__(self, path: Path | str, *, busy_timeout_seconds: float = 10.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout_seconds
        self._ready = False

    @classmethod
    def at(cls, url: str) -> SQLiteJobQueue:
        """The queue of a `sqlite:///PATH` URL."""
        return cls(database_path(url))

    def __repr__(self) -> str:
        return f"SQLiteJobQueue({str(self.path)!r})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a file another process keeps locked past the busy timeout
        (or cannot be opened) is `QueueUnavailable`."""
        try:
            with self._connection() as connection:
                yield connection
        except sqlite3.OperationalError as exc:
            raise QueueUnavailable(f"{self!r}: {exc}") from exc

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # One connection per operation: the API process and the worker both write here.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            if not self._ready:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(_SCHEMA)
                self._ready = True
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()

    def send(self, message: JobMessage) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (body, visible_at) VALUES (?, ?)", (message.encode(), time.time())
            )

    def receive(self, visibility_seconds: float) -> ReceivedJob | None:
        """The oldest visible job, hidden for `visibility_seconds`; None when there is none."""
        if not self._any_visible():
            return None  # an idle poll takes no write lock
        now = time.time()
        receipt = uuid.uuid4().hex
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, body, attempts FROM jobs WHERE dead = 0 AND visible_at <= ?"
                " ORDER BY visible_at, id LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET attempts = attempts + 1, visible_at = ?, receipt = ? WHERE id = ?",
                (now + visibility_seconds, receipt, row["id"]),
            )
        return ReceivedJob(row["body"], row["attempts"] + 1, receipt, str(row["id"]))

    def _any_visible(self) -> bool:
        if not self.path.exists():
            return False
        connection = sqlite3.connect(self.path, timeout=self._busy_timeout)
        try:
            row = connection.execute(
                "SELECT 1 FROM jobs WHERE dead = 0 AND visible_at <= ? LIMIT 1", (time.time(),)
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # nothing was ever sent
                return False
            raise QueueUnavailable(f"{self!r}: {exc}") from exc
        finally:
            connection.close()
        return row is not None

    def delete(self, received: ReceivedJob) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE id = ? AND receipt = ?", self._key(received))

    def release(self, received: ReceivedJob, delay_seconds: float, *, counted: bool) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET visible_at = ?, attempts = attempts - ?"
                " WHERE id = ? AND receipt = ?",
                (time.time() + delay_seconds, 0 if counted else 1, *self._key(received)),
            )

    def dead_letter(self, received: ReceivedJob, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET dead = 1, reason = ? WHERE id = ? AND receipt = ?",
                (reason, *self._key(received)),
            )

    def dead_letters(self) -> list[DeadJob]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, body, attempts, reason FROM jobs WHERE dead = 1 ORDER BY id"
            ).fetchall()
        return [
            DeadJob(
                str(row["id"]),
                decode_or_none(row["body"]),
                row["body"],
                row["attempts"],
                row["reason"],
            )
            for row in rows
        ]

    def replay(self, job_id: str) -> bool:
        """Puts a dead job back on the queue as a replay (it runs again); False if unknown."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT body FROM jobs WHERE id = ? AND dead = 1", (job_id,)
            ).fetchone()
            if row is None:
                return False
            message = decode_or_none(row["body"])
            body = row["body"] if message is None else message.replayed().encode()
            db.execute(
                "UPDATE jobs SET dead = 0, attempts = 0, visible_at = ?, receipt = NULL,"
                " reason = '', body = ? WHERE id = ?",
                (time.time(), body, job_id),
            )
        return True

    def pending(self) -> int:
        """Jobs not dead (visible or not): what a worker still has to run."""
        with self._transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM jobs WHERE dead = 0").fetchone()[0])

    @staticmethod
    def _key(received: ReceivedJob) -> tuple[str, str]:
        return received.queue_id, received.handle
