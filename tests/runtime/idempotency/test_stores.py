"""The idempotency stores: SQLite semantics, and both stores under two concurrent processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from chalicelib.runtime.idempotency.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    LedgerUnavailable,
    Replayed,
    open_store,
)
from chalicelib.runtime.idempotency.sqlite_store import SQLitePersistenceLayer, database_path
from chalicelib.runtime.idempotency.wait import StoreWaitExceeded, waits_until
from chalicelib.runtime.replies import in_progress_reply
from chalicelib.settings import SettingsError
from tests.conftest import known_secrets
from tests.runtime.conftest import runtime_env
from tests.runtime.deliveries import invocation
from tests.runtime.log_audit import leaks
from tests.servers import ROOT, free_port, start_server

IN_PROGRESS = in_progress_reply().message


def _record(key: str, status: str, *, expiry: float, lock_ms: float | None = None) -> DataRecord:
    return DataRecord(
        idempotency_key=key,
        status=status,
        expiry_timestamp=int(expiry),
        in_progress_expiry_timestamp=None if lock_ms is None else int(lock_ms),
    )


def test_sqlite_claims_only_absent_expired_or_abandoned_records(tmp_path: Path) -> None:
    store = SQLitePersistenceLayer(tmp_path / "nested" / "store.sqlite3")
    now = time.time()
    store._put_record(_record("k", "INPROGRESS", expiry=now + 60, lock_ms=(now + 30) * 1000))

    with pytest.raises(IdempotencyItemAlreadyExistsError) as taken:
        store._put_record(_record("k", "INPROGRESS", expiry=now + 60))
    assert taken.value.old_data_record is not None
    assert taken.value.old_data_record.status == "INPROGRESS"

    # The lock of a crashed run expires: the next claim wins.
    store._put_record(_record("abandoned", "INPROGRESS", expiry=now + 60, lock_ms=now * 1000 - 1))
    store._put_record(_record("abandoned", "INPROGRESS", expiry=now + 60))
    # A completed record past its window is claimable again.
    store._put_record(_record("old", "COMPLETED", expiry=now - 5))
    store._put_record(_record("old", "INPROGRESS", expiry=now + 60))
    assert store._get_record("old").status == "INPROGRESS"

    store._update_record(
        DataRecord("k", status="COMPLETED", expiry_timestamp=int(now + 60), response_data='{"a":1}')
    )
    assert store._get_record("k").response_json_as_dict() == {"a": 1}
    store._delete_record(DataRecord("k"))
    with pytest.raises(IdempotencyItemNotFoundError):
        store._get_record("k")
    store.close()
    store.close()


def test_a_crashed_run_can_be_retried_after_the_lock_expires(tmp_path: Path) -> None:
    store = SQLitePersistenceLayer(tmp_path / "store.sqlite3")
    ledger = DeliveryLedger(store, lock_seconds=1, window_seconds=60)
    runs: list[int] = []

    def crash() -> dict[str, Any]:
        runs.append(1)
        raise SystemExit  # the process dies mid-run: Powertools cannot clear the lock

    with pytest.raises(SystemExit):
        ledger.run_once("delivery-1", crash, remember=dict)
    with pytest.raises(DeliveryInProgress):
        ledger.run_once("delivery-1", lambda: {"body": {}}, remember=dict)
    time.sleep(1.1)

    outcome = ledger.run_once("delivery-1", lambda: {"message": "retried"}, remember=dict)

    assert outcome == {"message": "retried"}
    assert not isinstance(outcome, Replayed)


def test_store_urls(tmp_path: Path) -> None:
    assert database_path("sqlite:///.local/x.sqlite3") == Path(".local/x.sqlite3")
    assert database_path("sqlite:////abs/x.sqlite3") == Path("/abs/x.sqlite3")
    assert isinstance(open_store(f"sqlite:///{tmp_path}/s.db"), SQLitePersistenceLayer)
    with pytest.raises(ValueError, match="sqlite"):
        database_path("sqlite:///")
    for bad in ("redis://x", "dynamodb://", "", "/tmp/x.db"):
        with pytest.raises(SettingsError, match="IDEMPOTENCY_STORE"):
            open_store(bad)


def _deliver_concurrently(
    tmp_path: Path, env: dict[str, str], processes: int = 2
) -> tuple[list[dict[str, Any]], list[str]]:
    body = json.dumps(invocation("once", "together"))
    marker, go = tmp_path / "ran.txt", tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.concurrent_delivery", body, str(marker), str(go)],
            cwd=ROOT,
            env={**_base_env(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(processes)
    ]
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    replies = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        # The children's log lines are not in this process's capture: audit them here.
        assert not leaks(out.decode(), known_secrets()), "a secret reached a child's log"
        lines = [line for line in out.decode().splitlines() if line.startswith('{"status"')]
        assert lines, out.decode()
        replies.append(json.loads(lines[-1]))
    return replies, marker.read_text().split()


def _base_env() -> dict[str, str]:
    return {**os.environ}


def test_two_processes_sqlite_run_the_handler_once(tmp_path: Path) -> None:
    replies, runs = _deliver_concurrently(tmp_path, runtime_env(tmp_path))

    assert len(runs) == 1
    messages = {reply["body"]["message"] for reply in replies}
    assert messages == {f"ran in {runs[0]}", IN_PROGRESS}


@pytest.fixture(scope="module")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # One request at a time: moto's threaded server does not apply a conditional write
    # atomically (two concurrent claims can both win), which DynamoDB always does.
    port = free_port()
    server = start_server(
        "moto",
        ["-m", "soak.serial_moto", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        ready_path="/moto-api/",
        log_dir=tmp_path_factory.mktemp("moto"),
    )
    yield server.base_url
    server.stop()


def _create_table(endpoint: str, name: str) -> None:
    import boto3

    boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_two_processes_dynamodb_run_the_handler_once(
    tmp_path: Path, dynamodb_endpoint: str
) -> None:
    _create_table(dynamodb_endpoint, "deliveries-concurrent")
    env = {
        **runtime_env(tmp_path),
        "IDEMPOTENCY_STORE": "dynamodb://deliveries-concurrent",
        "IDEMPOTENCY_DYNAMODB_ENDPOINT": dynamodb_endpoint,
    }

    replies, runs = _deliver_concurrently(tmp_path, env)

    assert len(runs) == 1
    messages = {reply["body"]["message"] for reply in replies}
    assert messages == {f"ran in {runs[0]}", IN_PROGRESS}


def test_dynamodb_duplicate_gets_the_stored_reply(
    tmp_path: Path, dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create_table(dynamodb_endpoint, "deliveries-replay")
    store = open_store("dynamodb://deliveries-replay", dynamodb_endpoint=dynamodb_endpoint)
    ledger = DeliveryLedger(store, lock_seconds=30, window_seconds=60)

    first = ledger.run_once("delivery-x", lambda: ("ran", "first"), remember=_kept)
    second = ledger.run_once("delivery-x", lambda: ("ran", "second"), remember=_kept)

    # The run hands its result back directly; a duplicate gets only what was kept of it.
    assert first == ("ran", "first")
    assert second == Replayed({"message": "first"})


def _kept(result: tuple[str, str]) -> dict[str, Any]:
    return {"message": result[1]}


def _count_round_trips(store: Any) -> list[str]:
    """The DynamoDB operations the store's client sends from now on, in order."""
    sent: list[str] = []

    def count(request: Any, **_: Any) -> None:
        sent.append(request.headers["X-Amz-Target"].decode().rpartition(".")[2])

    store.client.meta.events.register("before-send.dynamodb", count)
    return sent


def test_dynamodb_round_trips_are_what_powertools_needs(
    tmp_path: Path, dynamodb_endpoint: str
) -> None:
    _create_table(dynamodb_endpoint, "deliveries-round-trips")
    store = open_store("dynamodb://deliveries-round-trips", dynamodb_endpoint=dynamodb_endpoint)
    ledger = DeliveryLedger(store, lock_seconds=30, window_seconds=60)
    sent = _count_round_trips(store)

    ledger.run_once("delivery-new", lambda: ("ran", "once"), remember=_kept)
    new = list(sent)
    sent.clear()
    duplicate = ledger.run_once("delivery-new", lambda: ("ran", "again"), remember=_kept)

    # A new delivery: the conditional put (the claim) and the update with its reply.
    assert new == ["PutItem", "UpdateItem"]
    # A duplicate: the conditional put fails and returns the stored item; no read follows.
    assert sent == ["PutItem"]
    assert duplicate == Replayed({"message": "once"})


def test_sqlite_writes_per_delivery_are_what_powertools_needs(tmp_path: Path) -> None:
    store = SQLitePersistenceLayer(tmp_path / "store.sqlite3")
    ledger = DeliveryLedger(store, lock_seconds=30, window_seconds=60)
    ledger.run_once("warm-up", lambda: ("ran", "first"), remember=_kept)  # opens the file
    statements: list[str] = []
    connection = store._connect()
    # `PRAGMA busy_timeout` bounds each wait by the delivery's deadline: a setting of this
    # connection, not a statement on the file, so it is left out of the count.
    connection.set_trace_callback(
        lambda sql: None if sql.startswith("PRAGMA") else statements.append(sql.split()[0].upper())
    )

    ledger.run_once("delivery-new", lambda: ("ran", "once"), remember=_kept)
    new = list(statements)
    statements.clear()
    duplicate = ledger.run_once("delivery-new", lambda: ("ran", "again"), remember=_kept)

    # A new delivery: the claim (one atomic statement) and the update with its reply.
    assert new == ["INSERT", "UPDATE"]
    # A duplicate: the failed claim, then the stored record read back for Powertools.
    assert statements == ["INSERT", "SELECT"]
    assert duplicate == Replayed({"message": "once"})
    store.close()


class _VanishingRecord:
    """A connection whose stored record is deleted right after a claim loses to it, once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.vanished = False

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        cursor = self._connection.execute(sql, parameters)
        if sql.lstrip().startswith("INSERT") and cursor.rowcount == 0 and not self.vanished:
            self.vanished = True  # as if the record's own run failed and deleted it just now
            self._connection.execute("DELETE FROM idempotency_records")
        return cursor


def test_a_claim_whose_rival_record_vanishes_is_tried_again(tmp_path: Path) -> None:
    store = SQLitePersistenceLayer(tmp_path / "store.sqlite3")
    now = time.time()
    store._put_record(_record("k", "INPROGRESS", expiry=now + 60, lock_ms=(now + 30) * 1000))
    vanishing = _VanishingRecord(store._connect())
    store._connect = lambda: vanishing  # type: ignore[assignment,method-assign,return-value]

    store._put_record(_record("k", "INPROGRESS", expiry=now + 90))  # no error: it claimed

    assert vanishing.vanished
    assert store._get_record("k").expiry_timestamp == int(now + 90)


def test_the_busy_timeout_follows_the_deadline_in_steps_never_past_it(tmp_path: Path) -> None:
    store = SQLitePersistenceLayer(tmp_path / "store.sqlite3", busy_timeout_seconds=10)
    store._put_record(_record("warm-up", "COMPLETED", expiry=time.time() + 60))
    pragmas: list[int] = []
    store._connect().set_trace_callback(
        lambda sql: pragmas.append(int(sql.split("=")[1])) if "busy_timeout" in sql else None
    )

    with waits_until(time.monotonic() + 1.9):
        store._get_record("warm-up")
        store._get_record("warm-up")  # the same step: the setting is not sent again
    with waits_until(time.monotonic() + 0.1):
        store._get_record("warm-up")  # under one step: what is left, to the millisecond
    store._get_record("warm-up")  # no limit: the store's own busy timeout
    # A delivery's claim (until the handler's deadline) and save (half a margin later), then
    # the next delivery's: the setting of the first still fits them all.
    now = time.monotonic()
    for limit in (now + 9.0, now + 9.5, now + 9.01, now + 9.51):
        with waits_until(limit):
            store._get_record("warm-up")

    assert len(pragmas) == 4
    assert pragmas[0] in (1500, 1750)
    assert 1 <= pragmas[1] <= 100
    assert pragmas[2] == 10_000
    assert pragmas[3] in (8750, 8500)
    store.close()


def test_a_locked_store_gets_a_503_inside_the_budget_and_stores_nothing(
    make_runtime: Any, env: dict[str, str]
) -> None:
    from chalicelib.runtime.intake.http import IncomingRequest
    from tests.runtime.deliveries import encode, headers, invocation

    runtime = make_runtime(DAILYBOT_REPLY_BUDGET="2", DAILYBOT_REPLY_MARGIN="0.5")
    runtime.intake.handle(IncomingRequest.of(encode(invocation("recall", "warm")), headers()))
    holder = sqlite3.connect(env["IDEMPOTENCY_STORE"].removeprefix("sqlite:///"))
    holder.execute("BEGIN IMMEDIATE")  # another container writing, for longer than the budget
    bodies = [encode(invocation("remember", f"k{n} v")) for n in range(3)]
    answers: list[tuple[int, str, float]] = []

    def deliver(body: bytes) -> None:
        started = time.monotonic()
        response = runtime.intake.handle(IncomingRequest.of(body, headers()))
        answers.append((response.status, response.body["code"], time.monotonic() - started))

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    try:
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=10)
    finally:
        holder.rollback()
        holder.close()

    assert [(status, code) for status, code, _ in answers] == [(503, "store_unavailable")] * 3
    # The promise: the reply's deadline less half its margin.
    assert all(elapsed <= 2.0 - 0.5 / 2 for _, _, elapsed in answers), answers
    # Nothing was stored for them: redelivered once the store answers, each runs.
    again = runtime.intake.handle(IncomingRequest.of(bodies[0], headers()))
    assert again.status == 200
    assert again.body == {"message": "Got it: *k0* is `v`."}


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer on the file (in WAL mode, as the store keeps it), holding its lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_opening_a_locked_store_waits_no_longer_than_the_limit(tmp_path: Path) -> None:
    # A store that has never opened its file, with a busy timeout far past the limit: opening
    # the file and creating its table happen under the limit, not under the store's own wait.
    path = tmp_path / "store.sqlite3"
    holder = _hold_write_lock(path)
    store = SQLitePersistenceLayer(path, busy_timeout_seconds=60)
    started = time.monotonic()
    try:
        with waits_until(started + 0.3), pytest.raises(StoreWaitExceeded):
            store._put_record(_record("k", "INPROGRESS", expiry=time.time() + 60))
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()

    assert elapsed < 30, elapsed  # the limit ended it, not the store's own 60 s
    store._put_record(_record("k", "INPROGRESS", expiry=time.time() + 60))  # opens once free
    assert store._get_record("k").status == "INPROGRESS"
    store.close()


def test_housekeeping_on_opening_never_waits_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first = SQLitePersistenceLayer(path)
    first._put_record(_record("old", "COMPLETED", expiry=time.time() - 5))
    first._put_record(_record("live", "COMPLETED", expiry=time.time() + 60))
    first.close()
    holder = _hold_write_lock(path)
    store = SQLitePersistenceLayer(path, busy_timeout_seconds=60)
    try:
        # A read beside a writer: the purge of expired records is skipped, not waited for.
        with waits_until(time.monotonic() + 30):
            assert store._get_record("live").status == "COMPLETED"
    finally:
        holder.rollback()
        holder.close()
    assert store._get_record("old").status == "EXPIRED"  # still there, for a later purge
    store.close()


def test_a_claim_waits_until_its_own_limit_and_the_reply_is_kept_after_it(
    tmp_path: Path,
) -> None:
    store = SQLitePersistenceLayer(tmp_path / "store.sqlite3", busy_timeout_seconds=60)
    ledger = DeliveryLedger(store, lock_seconds=30, window_seconds=60)
    ledger.run_once("warm-up", lambda: ("ran", "first"), remember=_kept)  # opens the file
    holder = _hold_write_lock(store.path)
    started = time.monotonic()
    try:
        with pytest.raises(LedgerUnavailable):
            ledger.run_once(
                "locked",
                lambda: ("ran", "never"),
                remember=_kept,
                wait_until=started + 30,
                claim_until=started + 0.3,
            )
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert elapsed < 20, elapsed  # the claim's limit ended it, not the later one

    def slow() -> tuple[str, str]:
        time.sleep(0.4)  # past the claim's limit: keeping the reply uses the later one
        return ("ran", "slowly")

    now = time.monotonic()
    outcome = ledger.run_once(
        "slow", slow, remember=_kept, wait_until=now + 30, claim_until=now + 0.2
    )

    assert outcome == ("ran", "slowly")
    assert ledger.run_once("slow", lambda: ("ran", "again"), remember=_kept) == Replayed(
        {"message": "slowly"}
    )
    store.close()


def test_the_dynamodb_store_waits_seconds_not_minutes() -> None:
    from chalicelib.runtime.idempotency.ledger import dynamodb_config

    config = dynamodb_config()

    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}
