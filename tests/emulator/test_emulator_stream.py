"""`GET /_emulator/stream`: the changes the playground applies, as server-sent events, read over
HTTP: the first `hello`, one small event per change, resuming after a dropped connection, and
nothing secret in it."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.emulator.emulator_process import EmulatorProcess, as_user
from tests.emulator.emulator_world import ACME_KEY, JANE


@dataclass
class Event:
    id: str | None
    name: str
    data: Any


class Stream:
    """The events of one open stream, read on a thread of their own."""

    def __init__(self, handle: EmulatorProcess, headers: dict[str, str]) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.raw: list[str] = []
        self._client = httpx.Client(base_url=handle.base_url, timeout=None, trust_env=False)
        self._response = self._client.send(
            self._client.build_request("GET", "/_emulator/stream", headers=headers), stream=True
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self._response.iter_lines():
                self.raw.append(line)
                if line == "" and "event" in fields:
                    self.events.put(
                        Event(fields.get("id"), fields["event"], json.loads(fields["data"]))
                    )
                    fields = {}
                elif ":" in line and not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.strip()
        except httpx.HTTPError:
            return

    def next(self, name: str, timeout: float = 10.0) -> Event:
        """The next event called `name` (others before it are skipped)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event.name == name:
                return event

    def close(self) -> None:
        self._response.close()
        self._client.close()


@contextmanager
def streaming(handle: EmulatorProcess, **headers: str) -> Iterator[Stream]:
    stream = Stream(handle, headers)
    try:
        yield stream
    finally:
        stream.close()


def test_the_first_event_says_to_load_then_each_change_follows(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with streaming(wired_emulator) as stream, wired_emulator.client() as http:
        hello = stream.next("hello")
        jane = as_user(http, JANE)
        http.post(
            "/v1/platform/storage/",
            headers=jane,
            json={"op": "set", "params": {"key": "big", "value": "x" * 60_000}},
        )
        storage = stream.next("storage")
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "a b"})
        item = stream.next("item")
        while item.data["runs"][0]["pending"]:
            item = stream.next("item")
        http.post("/_emulator/clock/advance", json={"seconds": 60})
        clock = stream.next("clock")

    assert hello.data["resync"] is True
    assert hello.id == f"{hello.data['epoch']}:{hello.data['seq']}"
    assert storage.data["op"] == "set"
    assert storage.data["entry"]["key"] == "big"
    assert storage.data["entry"]["size"] == 60_002
    assert len(storage.data["entry"]["preview"]) == 200  # a preview, never the whole value
    assert storage.data["entry"]["truncated"] is True
    assert item.data["kind"] == "invocation"
    assert item.data["runs"][0]["status"] == 200
    assert clock.data["clock"] == "virtual"
    # Nothing secret crossed the stream: no exchange token the emulator sent or minted.
    text = "\n".join(stream.raw)
    for request in command_receiver.requests:
        assert request.json["exchange_token"] not in text
    assert jane["X-EXCHANGE-TOKEN"] not in text
    assert ACME_KEY not in text


def test_a_page_back_from_a_time_nobody_listened_reloads_or_gets_what_it_missed(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with streaming(wired_emulator) as stream:
        hello = stream.next("hello")
        with wired_emulator.client() as http:
            http.post("/_emulator/faults", json={"path": "/v1/", "status": 503})
        seen = stream.next("faults")
    with wired_emulator.client() as http:  # the stream has gone (or is going): nobody listens
        http.post("/_emulator/faults", json={"path": "/v1/x/", "status": 500})

    with streaming(wired_emulator, **{"Last-Event-ID": seen.id or ""}) as resumed:
        again = resumed.next("hello")
        missed = None if again.data["resync"] else resumed.next("faults")
    with streaming(wired_emulator, **{"Last-Event-ID": "another-process:3"}) as stranger:
        fresh = stranger.next("hello")

    assert hello.data["resync"] is True
    # A change made while no stream was open is not built; whether the closing stream had
    # gone yet is a race, so the page either reloads its views or gets the change itself.
    if missed is not None:
        assert [f["path"] for f in missed.data] == ["/v1/", "/v1/x/"]
    assert fresh.data["resync"] is True  # an id of another process: reload


def test_a_page_that_stays_connected_resumes_without_reloading(wired_emulator: EmulatorProcess):
    with streaming(wired_emulator) as keeper, streaming(wired_emulator) as page:
        keeper.next("hello")
        page.next("hello")
        with wired_emulator.client() as http:
            http.post("/_emulator/faults", json={"path": "/v1/a/", "status": 503})
        first = page.next("faults")
        page.close()
        with wired_emulator.client() as http:  # the keeper listens: this change is kept
            http.post("/_emulator/faults", json={"path": "/v1/b/", "status": 500})
        keeper.next("faults")
        with streaming(wired_emulator, **{"Last-Event-ID": first.id or ""}) as resumed:
            hello = resumed.next("hello")
            missed = resumed.next("faults")

    assert hello.data["resync"] is False
    assert [f["path"] for f in missed.data] == ["/v1/a/", "/v1/b/"]
