"""The reconcile lock on the idempotency store: one holder at a time, expiring on its own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from chalicelib.runtime.composition import open_lock
from chalicelib.runtime.idempotency.lock import IdempotencyStoreLock, ReconcileLockUnavailable
from chalicelib.settings import Settings
from tests.runtime.registration.conftest import new_lock


def test_one_holder_at_a_time_across_layers(lock_store_path: Path) -> None:
    one, other = new_lock(lock_store_path), new_lock(lock_store_path)

    assert one.acquire("reconcile:ns:registration")
    assert not other.acquire("reconcile:ns:registration")
    assert other.acquire("reconcile:ns:another-state")
    one.release("reconcile:ns:registration")
    assert other.acquire("reconcile:ns:registration")


def test_a_lock_nobody_released_expires(lock_store_path: Path) -> None:
    crashed = new_lock(lock_store_path, lock_seconds=1)
    assert crashed.acquire("reconcile:ns:registration")

    time.sleep(1.2)

    assert new_lock(lock_store_path).acquire("reconcile:ns:registration")


def test_open_lock_uses_the_configured_store(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    lock = open_lock(Settings(idempotency_store=store))

    assert lock.acquire("x")
    assert not open_lock(Settings(idempotency_store=store)).acquire("x")
    assert "lock_seconds=60" in repr(lock)


class BrokenStore(BasePersistenceLayer):
    def _get_record(self, idempotency_key: str) -> DataRecord:
        raise OSError("disk gone")

    def _put_record(self, data_record: DataRecord) -> None:
        raise OSError("disk gone")

    def _update_record(self, data_record: DataRecord) -> None:
        raise OSError("disk gone")

    def _delete_record(self, data_record: DataRecord) -> None:
        raise OSError("disk gone")


def test_a_failing_store_is_reported_not_taken_for_a_held_lock() -> None:
    lock = IdempotencyStoreLock(BrokenStore())

    with pytest.raises(ReconcileLockUnavailable, match="OSError"):
        lock.acquire("x")
    with pytest.raises(ReconcileLockUnavailable):
        lock.release("x")


def test_the_lock_opens_its_store_only_when_first_taken(tmp_path: Path) -> None:
    # A cold container whose registrations are unchanged never takes the lock: it must not
    # pay for opening the lock's store (a second DynamoDB client in AWS).
    from chalicelib.runtime.idempotency.sqlite_store import SQLitePersistenceLayer

    opened: list[SQLitePersistenceLayer] = []

    def open_store() -> SQLitePersistenceLayer:
        opened.append(SQLitePersistenceLayer(tmp_path / "lock.sqlite3"))
        return opened[-1]

    lock = IdempotencyStoreLock(open_store)
    assert opened == []

    assert lock.acquire("registrations")
    assert not lock.acquire("registrations")
    lock.release("registrations")
    assert lock.acquire("registrations")
    assert len(opened) == 1
