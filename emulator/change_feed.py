"""What changed in the emulator, numbered, for the playground's event stream.

Every write the page shows (a delivery, a message, a platform call, a stored key, a schedule,
the clock...) publishes one small change: a topic and a JSON value that never holds more than
the one thing that changed, so a page following the stream pays per change, not per byte
stored. The feed keeps the last ``capacity`` changes; a page that fell further behind, or that
followed an earlier process (another ``epoch``), is told to reload its views.

Changes are published from the event loop and from other threads (the test kit runs each
platform call on a loop of its own), so waiters are woken through their own loop. While no
stream is open, changes are not built at all (``listening``): the feed only notes the gap, and
a page that comes back across it reloads its views.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

DEFAULT_CAPACITY = 4096


@dataclass(frozen=True)
class Change:
    seq: int
    topic: str
    data: str  # JSON, serialised once for every reader


class ChangeFeed:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.epoch = secrets.token_hex(4)
        self._changes: deque[Change] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._streams = 0
        self._gap = 0  # the last change skipped while nobody listened
        self.closed = False

    @property
    def listening(self) -> bool:
        """Whether a stream is open: without one, nobody needs the changes built."""
        return self._streams > 0

    def opened(self) -> None:
        with self._lock:
            self._streams += 1

    def left(self) -> None:
        with self._lock:
            self._streams -= 1

    def skip(self) -> None:
        """Note a change nobody was listening for: a stream resuming across it reloads."""
        with self._lock:
            self._seq += 1
            self._gap = self._seq

    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def publish(self, topic: str, data: Any) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._seq += 1
            self._changes.append(Change(self._seq, topic, text))
            waiters = list(self._waiters)
        self._wake(waiters)

    def since(self, seq: int) -> list[Change] | None:
        """The changes after ``seq``; ``None`` when some of them are no longer kept."""
        with self._lock:
            if seq > self._seq or seq < self._gap:
                return None
            if self._seq == seq:
                return []
            oldest = self._changes[0].seq if self._changes else self._seq + 1
            if seq + 1 < oldest:
                return None
            return [change for change in self._changes if change.seq > seq]

    async def wait(self, seq: int, timeout: float) -> None:
        """Until a change after ``seq`` is published, the feed closes, or ``timeout`` passes."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._seq > seq or self.closed:
                return
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def close(self) -> None:
        """Ends every stream (the server is stopping); safe from a signal handler's thread."""
        with self._lock:
            self.closed = True
            waiters = list(self._waiters)
        self._wake(waiters)

    @staticmethod
    def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        for loop, event in waiters:
            # A loop that has closed has nobody waiting on it any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
