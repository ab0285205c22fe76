"""A stalled DynamoDB: the store's calls end by the delivery's limit, not botocore's own.

A proxy in front of moto's server holds the requests of one DynamoDB operation without
answering (as a throttled or unreachable table would), past botocore's read timeout, so that
alone botocore would take two attempts of 2 s each. The ledger is given a limit of 1.5 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
import pytest

from benchmarks.threaded_server import InThread
from chalicelib.runtime.idempotency.dynamodb_store import CALL_LONGEST
from chalicelib.runtime.idempotency.ledger import DeliveryLedger, LedgerUnavailable, open_store
from chalicelib.runtime.intake.worker import workers
from tests.servers import moto_server

LIMIT = 1.5
# What the promise leaves for a loaded machine to hand the result back; botocore alone
# would take two read timeouts (4 s) and more.
SLACK = 1.0


class StallingProxy:
    """Forwards to moto's server, except the operations in `stalled`, which it holds."""

    def __init__(self, upstream: str) -> None:
        self.stalled: set[str] = set()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                if operation in proxy.stalled:
                    proxy.release.wait(timeout=30)
                    return
                answer = httpx.post(upstream, content=body, headers=dict(self.headers))
                self.send_response(answer.status_code)
                for name in ("Content-Type", "x-amzn-RequestId"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = InThread(ThreadingHTTPServer(("127.0.0.1", 0), Handler))


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def proxy(upstream: str) -> Iterator[StallingProxy]:
    stalling = StallingProxy(upstream)
    with stalling.server:
        try:
            yield stalling
        finally:
            stalling.release.set()


@pytest.fixture
def ledger(upstream: str, proxy: StallingProxy, request: pytest.FixtureRequest) -> DeliveryLedger:
    table = f"stalled-{request.node.name}"[:200]
    boto3.client("dynamodb", endpoint_url=upstream, region_name="us-east-1").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    store = open_store(f"dynamodb://{table}", dynamodb_endpoint=proxy.server.origin)
    return DeliveryLedger(store, lock_seconds=30, window_seconds=3600)


def _run(ledger: DeliveryLedger, ran: list[str], limit: float) -> tuple[object, float]:
    started = time.monotonic()

    def work() -> str:
        ran.append("ran")
        return "the answer"

    result = ledger.run_once(
        f"delivery-{started}",
        work,
        remember=lambda answer: {"message": answer},
        wait_until=started + limit,
    )
    return result, time.monotonic() - started


def test_a_stalled_save_ends_at_the_limit_and_the_answer_stands(
    ledger: DeliveryLedger, proxy: StallingProxy
) -> None:
    proxy.stalled.add("UpdateItem")
    ran: list[str] = []

    result, took = _run(ledger, ran, LIMIT)

    assert result == "the answer"  # the work ran; only keeping its reply failed
    assert ran == ["ran"]
    assert took < LIMIT + SLACK


def test_a_stalled_claim_ends_at_the_limit_and_nothing_runs(
    ledger: DeliveryLedger, proxy: StallingProxy
) -> None:
    proxy.stalled.add("PutItem")
    ran: list[str] = []
    started = time.monotonic()

    with pytest.raises(LedgerUnavailable):
        _run(ledger, ran, LIMIT)

    assert ran == []
    assert time.monotonic() - started < LIMIT + SLACK


def test_with_more_time_left_than_botocore_takes_no_worker_is_used(
    ledger: DeliveryLedger,
) -> None:
    before = workers.started
    ran: list[str] = []

    result, _ = _run(ledger, ran, CALL_LONGEST + 5)

    assert result == "the answer"
    assert workers.started == before
