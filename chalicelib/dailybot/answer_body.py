"""Reading the body of a platform answer: never more than a size, never past the deadline.

httpx reads an answer whole (`Response.read`), however long it is and however slowly it
arrives: its read timeout bounds each wait for the next bytes, not the whole answer. A broken
or hostile platform could then fill the memory of a Lambda container, or keep a call going
long after its deadline by trickling a byte at a time. Here the body is read as it arrives,
counted twice: the bytes that cross the network (so nothing past the limit is read off the
connection) and the bytes they decode to (so a small compressed answer cannot unpack into a
large one; one network chunk decodes at a time, so the decoded excess is at most one chunk's
worth). A declared `Content-Length` over the limit is refused before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import httpx

from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import RequestTimeout, ResponseTooLarge

MAX_RESPONSE_BYTES: Final = 16 * 2**20
"""The default limit: far above any answer the API documents (a long activity log included)."""


class _Bounded(httpx.SyncByteStream):
    """The answer's raw bytes as they arrive, stopped past `limit` or the deadline."""

    def __init__(
        self, inner: httpx.SyncByteStream, *, limit: int, deadline: Deadline | None, what: str
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._deadline = deadline
        self._what = what

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise _too_large(self._what, self._limit)
            if self._deadline is not None and self._deadline.expired():
                raise RequestTimeout(f"{self._what}: the answer was still arriving at the deadline")
            yield chunk

    def close(self) -> None:
        self._inner.close()


def read_within(
    response: httpx.Response, *, limit: int, deadline: Deadline | None, what: str
) -> None:
    """Reads `response`'s body (as `Response.read` does) or raises `ResponseTooLarge` /
    `RequestTimeout`; `what` names the call in the message ("GET path")."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(what, limit)
    if not isinstance(response.stream, httpx.SyncByteStream):  # pragma: no cover - sync client
        raise TypeError("an asynchronous answer given to the synchronous client")
    response.stream = _Bounded(response.stream, limit=limit, deadline=deadline, what=what)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(what, limit)
        chunks.append(chunk)
    # What `Response.read` keeps: `.content`, `.json()` and `.text` read it from here.
    response._content = b"".join(chunks)


def _too_large(what: str, limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"{what}: the answer is longer than {limit:,} bytes; not read further")
