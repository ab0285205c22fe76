"""``GET /_emulator/stream``: the changes the playground applies, as server-sent events.

The first event is ``hello`` with the feed's ``epoch`` and ``seq``; ``"resync": true`` tells
the page to (re)load its views, which it does after a restart of the emulator, after falling
too far behind, or on its first visit. Then each change arrives as an event named after its
topic (``item``, ``removed``, ``call``, ``storage``, ``schedule``, ``schedule_removed``,
``hook``, ``hook_removed``, ``activity``, ``faults``, ``clock``, ``user``, ``reset``), with the
id ``epoch:seq`` a reconnecting browser sends back as ``Last-Event-ID``. A comment every
``HEARTBEAT_SECONDS`` keeps idle connections open. Nothing is sent that did not change: an
idle page costs a heartbeat, whatever the emulator holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from emulator.change_feed import ChangeFeed
from emulator.state import EmulatorState

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000


def _resume_point(feed: ChangeFeed, last_event_id: str | None) -> int | None:
    """The seq to resume after, when ``last_event_id`` is of this process and still kept."""
    if not last_event_id:
        return None
    epoch, _, seq = last_event_id.partition(":")
    if epoch != feed.epoch or not seq.isdigit():
        return None
    return int(seq) if feed.since(int(seq)) is not None else None


def _hello(feed: ChangeFeed, seq: int, resync: bool) -> str:
    data = json.dumps({"epoch": feed.epoch, "seq": seq, "resync": resync})
    return f"id: {feed.epoch}:{seq}\nevent: hello\ndata: {data}\n\n"


async def _events(feed: ChangeFeed, resume: int | None) -> AsyncIterator[str]:
    feed.opened()
    try:
        seq = feed.seq if resume is None else resume
        yield f"retry: {RETRY_MILLISECONDS}\n" + _hello(feed, seq, resync=resume is None)
        while not feed.closed:
            changes = feed.since(seq)
            if changes is None:  # fell behind what the feed keeps
                seq = feed.seq
                yield _hello(feed, seq, resync=True)
                continue
            for change in changes:
                seq = change.seq
                yield f"id: {feed.epoch}:{seq}\nevent: {change.topic}\ndata: {change.data}\n\n"
            if not changes:
                await feed.wait(seq, HEARTBEAT_SECONDS)
                if feed.seq == seq and not feed.closed:
                    yield ": keep-alive\n\n"
    finally:
        feed.left()


async def stream(request: Request, state: EmulatorState) -> Response:
    feed = state.feed
    resume = _resume_point(
        feed, request.headers.get("last-event-id") or request.query_params.get("after")
    )
    return StreamingResponse(
        _events(feed, resume),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
