"""An embedded idempotency store: a Powertools persistence layer on one SQLite file.

The local default (`IDEMPOTENCY_STORE=sqlite:///PATH`). It follows the DynamoDB layer's rules:
a record may be (re)written only when absent, past its expiry, or still in progress past its
lock expiry; the check and the write are one statement, atomic in SQLite, so two processes
delivering the same body at once cannot both win.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)

from chalicelib.runtime.idempotency.wait import StoreWaitExceeded, seconds_left

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS idempotency_records (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiration INTEGER NOT NULL,
    in_progress_expiration INTEGER,
    data TEXT,
    validation TEXT
)
"""

_CLAIM: Final = """
INSERT INTO idempotency_records (id, status, expiration, in_progress_expiration, data, validation)
VALUES (:id, :status, :expiration, :in_progress_expiration, NULL, :validation)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status,
    expiration = excluded.expiration,
    in_progress_expiration = excluded.in_progress_expiration,
    data = NULL,
    validation = excluded.validation
WHERE idempotency_records.expiration < :now
   OR (idempotency_records.status = :in_progress
       AND idempotency_records.in_progress_expiration IS NOT NULL
       AND idempotency_records.in_progress_expiration < :now_ms)
"""

_SELECT: Final = (
    "SELECT id, status, expiration, in_progress_expiration, data, validation"
    " FROM idempotency_records WHERE id = ?"
)

# Expired rows are dropped now and then; DynamoDB does the same with its TTL.
_PURGE_EVERY: Final = 500
# SQLite's busy timeout is set in steps of this many milliseconds, rounded down (so never
# past the delivery's limit), and only when the one set is past the limit or falls short of
# it by more than the slack (a quarter of what is left, at most a second): the claim and
# the save of one delivery, and the next deliveries, mostly find it set already.
_BUSY_STEP_MS: Final = 250
_BUSY_SLACK_MS: Final = 1000
# A claim that loses to a record which is gone when read back is tried again, this often.
_CLAIM_TRIES: Final = 3


def database_path(store_url: str) -> Path:
    """The file of a `sqlite:///PATH` store URL (`sqlite:////abs` for an absolute path)."""
    prefix = "sqlite:///"
    if not store_url.startswith(prefix) or len(store_url) == len(prefix):
        raise ValueError(f"not a sqlite:///PATH store: {store_url!r}")
    return Path(store_url[len(prefix) :])


class SQLitePersistenceLayer(BasePersistenceLayer):
    """Idempotency records in a SQLite file, safe across threads and processes."""

    def __init__(self, path: Path | str, *, busy_timeout_seconds: float = 10.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = Path(path)
        self._busy_timeout = busy_timeout_seconds
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._busy_ms: int | None = None
        self._puts = 0

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._busy_ms = None

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread, waiting no longer than the delivery may.

        Every wait ends by the same limit, not one after the other: for another thread of
        this process (the lock), then for another process holding the file's write lock
        (SQLite's busy timeout, set to what is left once the lock is held), opening the file
        included.
        """
        if not self._lock.acquire(timeout=seconds_left(self._busy_timeout)):
            raise StoreWaitExceeded("another delivery held the idempotency store too long")
        try:
            connection = self._connect()
            self._bound_busy_wait(connection)
            yield connection
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreWaitExceeded("the idempotency store stayed locked") from exc
            raise
        finally:
            self._lock.release()

    def _bound_busy_wait(self, connection: sqlite3.Connection) -> None:
        left_ms = int(seconds_left(self._busy_timeout) * 1000)
        current = self._busy_ms
        if (
            current is not None
            and left_ms - min(_BUSY_SLACK_MS, left_ms // 4) <= current <= left_ms
        ):
            return
        busy_ms = left_ms - left_ms % _BUSY_STEP_MS if left_ms >= _BUSY_STEP_MS else max(left_ms, 1)
        connection.execute(f"PRAGMA busy_timeout = {busy_ms}")
        self._busy_ms = busy_ms

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path,
                # Opening waits no longer than the call may: the file may be locked already.
                timeout=seconds_left(self._busy_timeout),
                isolation_level=None,
                check_same_thread=False,
            )
            self._busy_ms = None
            connection.row_factory = sqlite3.Row
            try:
                self._initialise(connection)
                # WAL with NORMAL sync survives a process crash; a power loss may forget the
                # last records, which only re-opens a short replay window. FULL costs an fsync
                # a write.
                connection.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                connection.close()  # the next call opens the file again
                raise
            self._connection = connection
            self._purge(connection)
        return self._connection

    def _initialise(self, connection: sqlite3.Connection) -> None:
        """WAL mode and the table, waiting out other processes doing the same on a new file.

        Switching a fresh file to WAL needs a lock that SQLite's busy handler does not wait
        for, so two containers starting together would otherwise see "database is locked".
        """
        give_up = time.monotonic() + seconds_left(self._busy_timeout)
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= give_up:
                    raise
                time.sleep(0.01)

    def _purge(self, connection: sqlite3.Connection) -> None:
        """Drops expired records when no other process is writing: housekeeping never waits,
        so it never spends a delivery's time (the next purge catches up)."""
        connection.execute("PRAGMA busy_timeout = 0")
        self._busy_ms = 0
        try:
            connection.execute(
                "DELETE FROM idempotency_records WHERE expiration < ?", (int(time.time()),)
            )
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._locked() as connection:
            row = connection.execute(_SELECT, (idempotency_key,)).fetchone()
        if row is None:
            raise IdempotencyItemNotFoundError
        return _to_record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        with self._locked() as connection:
            for _ in range(_CLAIM_TRIES):
                # The claim is one statement, atomic on its own. A record it may not replace
                # is read back for Powertools; if that record vanished in between (its run
                # failed and was deleted), the claim is simply tried again.
                now = time.time()
                claimed = connection.execute(
                    _CLAIM,
                    {
                        "id": data_record.idempotency_key,
                        "status": data_record.status,
                        "expiration": data_record.expiry_timestamp,
                        "in_progress_expiration": data_record.in_progress_expiry_timestamp,
                        "validation": data_record.payload_hash or None,
                        "now": int(now),
                        "now_ms": int(now * 1000),
                        "in_progress": STATUS_CONSTANTS["INPROGRESS"],
                    },
                ).rowcount
                if claimed:
                    existing = None
                    break
                existing = connection.execute(_SELECT, (data_record.idempotency_key,)).fetchone()
                if existing is not None:
                    break
            else:
                raise StoreWaitExceeded("the idempotency record kept changing under the claim")
            self._puts += 1
            if self._puts % _PURGE_EVERY == 0:
                self._purge(connection)
        if existing is not None:
            raise IdempotencyItemAlreadyExistsError(old_data_record=_to_record(existing))

    def _update_record(self, data_record: DataRecord) -> None:
        with self._locked() as connection:
            connection.execute(
                "UPDATE idempotency_records SET data = ?, expiration = ?, status = ?,"
                " validation = COALESCE(?, validation) WHERE id = ?",
                (
                    data_record.response_data,
                    data_record.expiry_timestamp,
                    data_record.status,
                    data_record.payload_hash or None,
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._locked() as connection:
            connection.execute(
                "DELETE FROM idempotency_records WHERE id = ?", (data_record.idempotency_key,)
            )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def _to_record(row: sqlite3.Row) -> DataRecord:
    return DataRecord(
        idempotency_key=row["id"],
        status=row["status"],
        expiry_timestamp=row["expiration"],
        in_progress_expiry_timestamp=row["in_progress_expiration"],
        response_data=row["data"] or "",
        payload_hash=row["validation"] or "",
    )
