"""An in-memory persistence layer for Powertools idempotency: the peer's store without AWS.

It keeps the records of this process in a dictionary, with the same rules as Powertools'
DynamoDB layer: a claim fails while a completed record has not expired or an in-progress one
has not timed out, and the failure carries the existing record (no second read).
"""

from __future__ import annotations

import threading
import time

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Idempotency records in a dictionary, safe across threads."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
        self._records: dict[str, DataRecord] = {}
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        try:
            return self._records[idempotency_key]
        except KeyError:
            raise IdempotencyItemNotFoundError from None

    def _put_record(self, data_record: DataRecord) -> None:
        with self._lock:
            existing = self._records.get(data_record.idempotency_key)
            if existing is not None and not _replaceable(existing):
                raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
            self._records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._records.pop(data_record.idempotency_key, None)


def _replaceable(record: DataRecord) -> bool:
    if record.is_expired:
        return True
    timed_out = record.in_progress_expiry_timestamp
    return (
        record.status == STATUS_CONSTANTS["INPROGRESS"]
        and timed_out is not None
        and timed_out < int(time.time() * 1000)
    )
