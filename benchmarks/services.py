"""The platform stub and moto's server as processes of their own, for warm figures.

In-thread servers share the measured app's interpreter: every call they answer would take the
app's turn at the interpreter lock and count in its time. As processes they stand where
Dailybot and DynamoDB stand, outside the container. Each binds 127.0.0.1 and is stopped by its
own PID.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx

from benchmarks.local_aws import OUR_TABLE, PEER_TABLE
from benchmarks.local_processes import free_port, stop_child
from benchmarks.subjects import ROOT


@contextmanager
def _process(args: Sequence[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        stop_child(process)


@contextmanager
def platform_stub_process(delay_seconds: float = 0.0) -> Iterator[str]:
    """The platform stub in its own process; yields its base URL."""
    with _process(["-m", "benchmarks.platform_stub", "--delay", str(delay_seconds)]) as stub:
        assert stub.stdout is not None
        yield stub.stdout.readline().decode().strip()


@contextmanager
def moto_process() -> Iterator[str]:
    """moto's server in its own process, with the benchmarks' idempotency tables; yields its
    URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _process(["-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]):
        _wait_ready(url)
        _create_tables(url)
        yield url


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/moto-api/", timeout=1.0, trust_env=False)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"moto's server at {url} did not start in {timeout} s")


def _create_tables(url: str) -> None:
    import boto3  # type: ignore[import-untyped]

    dynamodb = boto3.client("dynamodb", endpoint_url=url)
    for table in (OUR_TABLE, PEER_TABLE):
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
