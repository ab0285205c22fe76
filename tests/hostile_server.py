"""A hostile or broken HTTP peer on 127.0.0.1, for what the runtime and the emulator read.

Each route (method and path) answers one `Hostile` shape: a plain JSON body, a body repeated
until it is hundreds of megabytes (with or without a `Content-Length`), a body that trickles
in a byte at a time, or a small gzip body that unpacks into a large one. The server counts
the body bytes it managed to write per route, so a test can show that a reader stopped early
(the kernel's socket buffers hold a few megabytes more than the reader took).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from benchmarks.threaded_server import InThread

CHUNK: Final = 64 * 1024


@dataclass(frozen=True)
class Hostile:
    """One answer: `body` sent `repeat` times, each chunk after `pause` seconds."""

    body: bytes = b"{}"
    status: int = 200
    repeat: int = 1
    pause: float = 0.0
    declare_length: bool = True
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: Any) -> Hostile:
        return cls(json.dumps(value).encode())

    @classmethod
    def huge(cls, megabytes: int, *, declare_length: bool) -> Hostile:
        """`megabytes` MiB of JSON-looking text, in 64 KiB writes."""
        return cls(b" " * CHUNK, repeat=megabytes * 16, declare_length=declare_length)

    @classmethod
    def trickle(cls, length: int, pause: float) -> Hostile:
        """`length` bytes declared, one byte every `pause` seconds."""
        return cls(b" ", repeat=length, pause=pause)

    @classmethod
    def gzip_bomb(cls, megabytes: int) -> Hostile:
        """A gzip body a few kilobytes long that unpacks into `megabytes` MiB."""
        packed = gzip.compress(b" " * (megabytes * 2**20), compresslevel=9)
        return cls(packed, headers=(("Content-Encoding", "gzip"),))


@dataclass
class HostileServer(InThread):
    """Serves `routes` ("METHOD /path" -> answer) while used as a context manager."""

    routes: dict[str, Hostile] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        super().__init__(_Server(self))

    def answer_for(self, method: str, path: str) -> Hostile:
        with self._lock:
            self.requests.append(f"{method} {path}")
        return self.routes.get(f"{method} {path}", Hostile(b'{"detail": "Not found."}', 404))

    def count(self, route: str, written: int) -> None:
        with self._lock:
            self.sent[route] += written


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HostileServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: an answer without a length ends when the connection closes.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?", 1)[0]
        route = f"{self.command} {path}"
        answer = self.server.owner.answer_for(self.command, path)
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.declare_length:
            self.send_header("Content-Length", str(len(answer.body) * answer.repeat))
        self.end_headers()
        try:
            for _ in range(answer.repeat):
                if answer.pause:
                    time.sleep(answer.pause)
                self.wfile.write(answer.body)
                self.wfile.flush()
                self.server.owner.count(route, len(answer.body))
        except OSError:  # the reader stopped reading and closed the connection
            return

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what was sent from the counts."""
