"""The emulator reads a command's reply no further than a reply can be: a hostile app answering
300 MB gets its delivery recorded as `ReplyTooLarge`, and the emulator read about a megabyte."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from emulator.deliveries import Dispatcher
from tests.emulator.emulator_process import fixtures_pointing_to
from tests.hostile_server import Hostile, HostileServer

# What the kernel may hold beyond what the reader took: both ends' socket buffers.
SOCKET_BUFFERS = 32 * 2**20


def test_a_300_megabyte_reply_is_cut_off_and_recorded(
    emulator_factory: Any, tmp_path: Path
) -> None:
    with HostileServer() as app:
        app.routes["POST /acme"] = Hostile.huge(300, declare_length=False)
        emulator = emulator_factory(fixtures=fixtures_pointing_to(app.origin, tmp_path))
        with emulator.client() as http:
            answer = http.post("/_emulator/invoke", json={"intent": "remember"}).json()
            deliveries = http.get("/_emulator/deliveries").json()
        time.sleep(0.2)
        sent = app.sent["POST /acme"]

    assert (answer["status_code"], answer["error"]) == (200, "ReplyTooLarge")
    assert [(d["status"], d["error"]) for d in deliveries] == [(200, "ReplyTooLarge")]
    assert sent < Dispatcher.MAX_REPLY_BYTES + SOCKET_BUFFERS, sent
