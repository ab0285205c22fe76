"""Powertools' DynamoDB persistence layer, each call bounded by the delivery's store limit.

botocore bounds one call by its own settings (`DYNAMODB_ATTEMPTS` attempts of a connect and a
read timeout, some 6 s), and a claim and a save are two calls: a DynamoDB that answers slowly
on both could keep a reply past Dailybot's 10 s. The ledger sets how long the store may keep
a delivery (`wait.waits_until`); a call begun with less time than botocore's own bound left
runs on a worker and is abandoned when that time is up (`StoreWaitExceeded`, which the ledger
reports as unavailable). An abandoned call may still land: a claim that lands late expires
after the lock window, as after a crash; a save that lands late only serves later duplicates.
A call begun with more time left than that bound runs as is: no thread on the warm path.
Imported only with the DynamoDB store (it imports boto3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import (
    DynamoDBPersistenceLayer,
)

from chalicelib.runtime.idempotency.ledger import DYNAMODB_ATTEMPTS, DYNAMODB_TIMEOUTS
from chalicelib.runtime.idempotency.wait import StoreWaitExceeded, seconds_left
from chalicelib.runtime.intake.worker import Overrun, run_within

T = TypeVar("T")

CALL_LONGEST: Final = DYNAMODB_ATTEMPTS * sum(DYNAMODB_TIMEOUTS.values())
"""The longest botocore lets one call take with the store's settings."""


def bounded(call: Callable[[], T]) -> T:
    """`call()`, given up on at the store limit that holds now (if it could outlast it)."""
    left = seconds_left(CALL_LONGEST)
    if left >= CALL_LONGEST:
        return call()
    try:
        return run_within(call, left)
    except Overrun:
        raise StoreWaitExceeded(
            f"DynamoDB did not answer within the {left:.1f} s the delivery had left"
        ) from None


class BoundedDynamoDBPersistenceLayer(DynamoDBPersistenceLayer):
    """`DynamoDBPersistenceLayer` whose record calls end by the delivery's store limit."""

    def _get_record(self, idempotency_key: Any) -> DataRecord:
        get = super()._get_record
        return bounded(lambda: get(idempotency_key))

    def _put_record(self, data_record: DataRecord) -> None:
        put = super()._put_record
        bounded(lambda: put(data_record))

    def _update_record(self, data_record: DataRecord) -> None:
        update = super()._update_record
        bounded(lambda: update(data_record))

    def _delete_record(self, data_record: DataRecord) -> None:
        delete = super()._delete_record
        bounded(lambda: delete(data_record))
