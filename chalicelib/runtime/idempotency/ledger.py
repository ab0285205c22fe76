"""De-duplication of deliveries with Powertools idempotency: each delivery runs at most once.

A delivery's identity is its body without the exchange token (`intake/delivery.py`). The first
arrival claims the identity (in progress), runs, and stores what a duplicate needs (its reply);
a later arrival gets that back, or `DeliveryInProgress` while the first is still running.
The lock of a run that crashed expires after `lock_seconds`: Powertools takes the lock's
length from a Lambda context, so the ledger hands it one that always reports `lock_seconds`
left, the same locally and in AWS.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from chalicelib import aws_session
from chalicelib.dailybot.models import JSONValue
from chalicelib.observability import logger
from chalicelib.runtime.idempotency.sqlite_store import SQLitePersistenceLayer, database_path
from chalicelib.runtime.idempotency.wait import move_limit, waits_until
from chalicelib.settings import SettingsError

KEY_PREFIX: Final = "dailybot-delivery"
JOB_KEY_PREFIX: Final = "dailybot-job"
"""Deferred jobs are de-duplicated in the same store under their own prefix."""
# botocore's defaults wait 60 s to connect, 60 s to read, and retry: far past Dailybot's ten
# seconds. One store call here takes at most 2 attempts of (1 s connect + 2 s read), and none
# outlasts the delivery's store limit (`dynamodb_store.py`).
DYNAMODB_TIMEOUTS: Final = {"connect_timeout": 1.0, "read_timeout": 2.0}
DYNAMODB_ATTEMPTS: Final = 2


def dynamodb_config() -> Any:
    """The botocore `Config` of the DynamoDB store (botocore is imported only for it)."""
    from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

    return Config(
        **DYNAMODB_TIMEOUTS,
        retries={"total_max_attempts": DYNAMODB_ATTEMPTS, "mode": "standard"},
    )


T = TypeVar("T")


class DeliveryInProgress(Exception):
    """The same delivery is being handled right now by another request."""


class LedgerUnavailable(Exception):
    """The idempotency store failed; the delivery cannot be run safely."""


@dataclass(frozen=True)
class Replayed:
    """What an earlier run of the same delivery stored: this call was a duplicate."""

    body: dict[str, JSONValue]


class _LockWindow:
    """Stands in for the Lambda context Powertools asks for the in-progress lock's length."""

    def __init__(self, seconds: int) -> None:
        self._millis = seconds * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._millis


class DeliveryLedger:
    """Runs work for a delivery identity once and remembers its reply for a window."""

    def __init__(
        self,
        store: BasePersistenceLayer,
        *,
        lock_seconds: int,
        window_seconds: int,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self.store = store
        self.lock_seconds = lock_seconds
        self._key_prefix = key_prefix
        self._config = IdempotencyConfig(
            raise_on_no_idempotency_key=True,
            expires_after_seconds=window_seconds,
            hash_function="sha256",
            lambda_context=cast(Any, _LockWindow(lock_seconds)),
        )

    def run_once(
        self,
        identity: str,
        work: Callable[[], T],
        *,
        remember: Callable[[T], dict[str, JSONValue]],
        wait_until: float | None = None,
        claim_until: float | None = None,
    ) -> T | Replayed:
        """`work()`'s result, run now, or what `remember` kept of an earlier run's result.

        Only `remember(result)` (what a duplicate needs) goes into the store; the result
        itself is handed back directly to the caller that ran it. No call to the store waits
        past `wait_until` (a `time.monotonic()` instant), and the claim before the work no
        past `claim_until` (`wait_until` when not given): a claim made later than the work's
        own deadline leaves it no time to run. A store that cannot answer by then is
        `LedgerUnavailable`, and nothing is stored for the delivery.
        """
        result: list[T] = []

        def run() -> dict[str, JSONValue]:
            # Claimed: keeping the result may use the rest of the store's time.
            move_limit(wait_until)
            result.append(work())
            return remember(result[0])

        handler = IdempotencyHandler(
            function=run,
            function_payload={"delivery": identity},
            config=self._config,
            persistence_store=self.store,
            key_prefix=self._key_prefix,
            function_args=(),
            function_kwargs={},
        )
        try:
            with waits_until(wait_until if claim_until is None else claim_until):
                stored = handler.handle()
        except IdempotencyAlreadyInProgressError as exc:
            raise DeliveryInProgress(identity[:16]) from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            if result:
                # The work ran; only keeping its reply failed. Its answer still stands, and the
                # claim expires after the lock window, as after a crash.
                logger.warning("could not store a finished run's reply: %s", type(exc).__name__)
                return result[0]
            raise LedgerUnavailable(type(exc).__name__) from exc
        if result:
            return result[0]
        return Replayed(cast(dict[str, JSONValue], stored or {}))


def open_store(store_url: str, *, dynamodb_endpoint: str | None = None) -> BasePersistenceLayer:
    """The persistence layer an `IDEMPOTENCY_STORE` URL names.

    `dynamodb://TABLE` loads boto3 (only then); `sqlite:///PATH` is the embedded store.
    """
    if store_url.startswith("sqlite:///"):
        return SQLitePersistenceLayer(database_path(store_url))
    if store_url.startswith("dynamodb://") and len(store_url) > len("dynamodb://"):
        return _dynamodb_store(store_url[len("dynamodb://") :], dynamodb_endpoint)
    raise SettingsError(
        f"IDEMPOTENCY_STORE must be dynamodb://TABLE or sqlite:///PATH, got {store_url!r}"
    )


def _dynamodb_store(table: str, endpoint: str | None) -> BasePersistenceLayer:
    # Only this store pays for boto3's import (a fifth of a second on a cold start).
    from chalicelib.runtime.idempotency.dynamodb_store import (  # noqa: PLC0415
        BoundedDynamoDBPersistenceLayer,
    )

    return BoundedDynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb_client(endpoint))


_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def dynamodb_client(endpoint: str | None) -> Any:
    """The container's one client of the DynamoDB store, made on first use.

    The ledger, the reconcile lock and the installations all call through it: a boto3 client
    is thread safe, and each further client of the shared session cost some 15 ms of the
    first delivery (its model and event handlers are set up again per client)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    with _clients_lock:
        key = (endpoint, region)
        if key not in _clients:
            _clients[key] = aws_session.client(
                "dynamodb", endpoint_url=endpoint, region_name=region, config=dynamodb_config()
            )
        return _clients[key]
