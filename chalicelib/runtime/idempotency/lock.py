"""The lock that keeps two containers from reconciling the same registration state at once.

It lives in the idempotency store every container already shares (DynamoDB in AWS, SQLite
locally): taking the lock is Powertools' `save_inprogress` on a record named after the lock,
which the store writes only when no unexpired record exists (a conditional put), so exactly one
caller wins. The record expires after `lock_seconds`, so a container that dies mid-reconcile
does not keep the others out for longer than that. Releasing deletes the record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final, Protocol

from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

KEY_PREFIX: Final = "dailybot-reconcile"
DEFAULT_LOCK_SECONDS: Final = 60


class ReconcileLockUnavailable(Exception):
    """The lock's store failed; nobody can tell whether another reconcile is running."""


class ReconcileLock(Protocol):
    """A named lock with an expiry, shared by every container of the deployment."""

    def acquire(self, name: str) -> bool:
        """True when this caller now holds `name`; False when someone else does."""
        ...

    def release(self, name: str) -> None: ...


class _Released(Exception):
    """Given to Powertools' `delete_record`, which wants the exception that ended the work."""


class IdempotencyStoreLock:
    """`ReconcileLock` on a Powertools persistence layer of its own.

    The layer must not be the one the delivery ledger uses: Powertools keeps the key prefix
    on the layer instance, so sharing it would mix the two prefixes under concurrency.
    """

    def __init__(
        self,
        store: BasePersistenceLayer | Callable[[], BasePersistenceLayer],
        *,
        lock_seconds: int = DEFAULT_LOCK_SECONDS,
    ) -> None:
        """`store` is the layer, or what opens it on first use: a container whose
        registrations are unchanged never takes the lock, so it need not open a client."""
        self._open = store if callable(store) else (lambda: store)
        self._opened: BasePersistenceLayer | None = None
        self._opening = threading.Lock()
        self._lock_seconds = lock_seconds

    @property
    def _store(self) -> BasePersistenceLayer:
        with self._opening:
            if self._opened is None:
                store = self._open()
                store.configure(
                    IdempotencyConfig(
                        raise_on_no_idempotency_key=True,
                        expires_after_seconds=self._lock_seconds,
                        hash_function="sha256",
                    ),
                    key_prefix=KEY_PREFIX,
                )
                self._opened = store
            return self._opened

    def __repr__(self) -> str:
        return f"IdempotencyStoreLock(lock_seconds={self._lock_seconds})"

    def acquire(self, name: str) -> bool:
        try:
            self._store.save_inprogress(
                self._record(name), remaining_time_in_millis=self._lock_seconds * 1000
            )
        except IdempotencyItemAlreadyExistsError:
            return False
        except Exception as exc:
            raise ReconcileLockUnavailable(type(exc).__name__) from exc
        return True

    def release(self, name: str) -> None:
        try:
            self._store.delete_record(self._record(name), _Released())
        except Exception as exc:
            raise ReconcileLockUnavailable(type(exc).__name__) from exc

    @staticmethod
    def _record(name: str) -> dict[str, Any]:
        return {"lock": name}
