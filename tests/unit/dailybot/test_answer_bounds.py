"""The client reads no answer past its size limit or its deadline, over real HTTP.

A hostile platform (`tests/hostile_server.py`) answers with hundreds of megabytes, with a
small gzip body that unpacks into many, or a byte at a time. Every call must end with a
clear error of the client's tree, having read about the limit and no more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import (
    DailybotError,
    InvalidResponse,
    RequestTimeout,
    ResponseTooLarge,
)
from chalicelib.redaction import Secret
from tests.hostile_server import Hostile, HostileServer
from tests.unit.dailybot.conftest import API_KEY

LIMIT = 1 * 2**20
STORAGE = "POST /v1/platform/storage/"
# What the kernel may hold beyond what the reader took: both ends' socket buffers.
SOCKET_BUFFERS = 32 * 2**20


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def _client(server: HostileServer, *, limit: int = LIMIT) -> DailybotClient:
    return DailybotClient(
        base_url=server.origin + "/v1/",
        api_key=Secret(API_KEY),
        timeout=httpx.Timeout(5.0, connect=2.0),
        max_response_bytes=limit,
    )


def _read_storage(client: DailybotClient, deadline: Deadline | None = None) -> object:
    return client.storage_get("color", namespace="bounds", deadline=deadline)


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_300_megabyte_answer_is_refused_after_about_the_limit(
    server: HostileServer, declare_length: bool
) -> None:
    server.routes[STORAGE] = Hostile.huge(300, declare_length=declare_length)

    with _client(server) as client, pytest.raises(ResponseTooLarge, match="longer than 1,048,576"):
        _read_storage(client)

    # The server stops writing once the client has gone: it wrote about the limit, plus what
    # the socket buffers took, never the 300 MiB.
    time.sleep(0.2)
    assert server.sent[STORAGE] < LIMIT + SOCKET_BUFFERS, server.sent[STORAGE]
    assert server.requests.count(STORAGE) == 1  # too large is not retried


def test_a_small_gzip_answer_that_unpacks_past_the_limit_is_refused(
    server: HostileServer,
) -> None:
    bomb = Hostile.gzip_bomb(64)
    assert len(bomb.body) < LIMIT
    server.routes[STORAGE] = bomb

    with _client(server) as client, pytest.raises(ResponseTooLarge):
        _read_storage(client)


def test_an_answer_within_the_limit_is_read_as_before(server: HostileServer) -> None:
    server.routes[STORAGE] = Hostile.json({"color": "blue" * 1000})

    with _client(server) as client:
        assert _read_storage(client) == "blue" * 1000


def test_a_trickling_answer_ends_at_the_deadline(server: HostileServer) -> None:
    # One byte every 50 ms: each wait is far inside the read timeout, the whole never ends.
    server.routes[STORAGE] = Hostile.trickle(100_000, 0.05)
    deadline = Deadline.after(1.0)

    with _client(server) as client, pytest.raises(RequestTimeout, match="at the deadline"):
        _read_storage(client, deadline)

    # The deadline ended it, not the hour the whole answer would take.
    assert deadline.expired()
    assert server.sent[STORAGE] < 1000


def test_the_errors_belong_to_the_clients_tree() -> None:
    assert issubclass(ResponseTooLarge, InvalidResponse)
    assert issubclass(ResponseTooLarge, DailybotError)


def test_an_answer_held_in_memory_is_bounded_too() -> None:
    # The in-process transports (the test kit's, httpx.MockTransport) hand over a ready body.
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=b" " * (LIMIT + 1)))
    client = DailybotClient(
        base_url="https://api.test/v1/",
        api_key=Secret(API_KEY),
        transport=transport,
        max_response_bytes=LIMIT,
    )

    with client, pytest.raises(ResponseTooLarge):
        _read_storage(client)


def test_the_limit_is_a_setting_of_the_runtimes_client() -> None:
    from chalicelib.runtime.composition import build_client
    from chalicelib.settings import Settings

    settings = Settings.from_env(
        {"DAILYBOT_API_KEY": API_KEY, "DAILYBOT_MAX_RESPONSE_BYTES": "1024"}
    )
    assert Settings.from_env({}).max_response_bytes == 16 * 2**20
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=b" " * 1025))

    with build_client(settings, transport=transport) as client, pytest.raises(ResponseTooLarge):
        _read_storage(client)
