"""Item 5 in Chromium: the page receives changes, not the whole state. With 60 MB in storage
it transfers no more bytes, idle or per update, than with an empty storage (counted by the
browser itself, over the DevTools protocol: bytes, not time)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import LOCAL_API_KEY
from tests.browser.conftest import VIEWPORT, open_playground
from tests.emulator.emulator_process import EmulatorProcess, start_emulator

ACME = "11111111-1111-4111-8111-111111111111"
VALUE_CHARACTERS = 64_000  # a value just under the platform's 64 KiB
STORED_BYTES = 60 * 1024 * 1024
IDLE_MS = 3000


def big_state(path: Path) -> Path:
    """A state file holding 60 MB of storage, for `--import`."""
    count = STORED_BYTES // VALUE_CHARACTERS + 1
    scope = f"namespace:{ACME}:bulk"
    storage = [
        {"scope": scope, "key": f"blob-{n:04d}", "value": f"{n:04d}" * (VALUE_CHARACTERS // 4)}
        for n in range(count)
    ]
    state = {"format": "dailybot-emulator-state", "version": 1, "tables": {"storage": storage}}
    path.write_text(json.dumps(state))
    return path


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmulatorProcess]]:
    tmp = tmp_path_factory.mktemp("updates")
    state = big_state(tmp / "sixty-megabytes.json")
    started = {
        "empty": start_emulator(tmp, db=":memory:"),
        "60 MB": start_emulator(tmp, db=":memory:", extra_args=["--import", str(state)]),
    }
    try:
        yield started
    finally:
        for handle in started.values():
            handle.stop()


class ByteCounter:
    """Every byte of response bodies the page receives, as Chromium counts them (the decoded
    length: the encoded one of a streamed chunk is reported late or as 0)."""

    def __init__(self, page: Page) -> None:
        self.total = 0
        session = page.context.new_cdp_session(page)
        session.send("Network.enable")
        session.on("Network.dataReceived", self._received)

    def _received(self, event: dict[str, int]) -> None:
        self.total += event["dataLength"]

    def during(
        self, page: Page, action: Callable[[], None] | None = None, shown: str | None = None
    ) -> int:
        """Bytes received while `action` runs, until the storage view shows key `shown`, and
        for `IDLE_MS` after."""
        before = self.total
        if action is not None:
            action()
        if shown is not None:
            expect(page.locator("#storage code.key", has_text=shown)).to_have_count(1)
        page.wait_for_timeout(IDLE_MS)
        return self.total - before


def updates(base_url: str) -> None:
    """What a command's work looks like from the page: a few small writes, and the clock."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as http:
        headers = {"X-API-KEY": LOCAL_API_KEY}
        for n in range(5):
            http.post(
                "/v1/platform/storage/",
                headers=headers,
                json={"op": "set", "namespace": "small", "params": {"key": f"k{n}", "value": n}},
            ).raise_for_status()
        http.post("/_emulator/clock/advance", json={"seconds": 60}).raise_for_status()


def measure(browser: Browser, handle: EmulatorProcess) -> dict[str, int]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    counter = ByteCounter(page)
    open_playground(page, handle.base_url + "/")
    page.click("[data-tab='state']")
    page.wait_for_timeout(500)
    loaded = counter.total
    idle = counter.during(page)
    changed = counter.during(page, lambda: updates(handle.base_url), shown="k4")
    context.close()
    return {"load": loaded, "idle": idle, "updates": changed}


def test_sixty_megabytes_of_storage_cost_the_page_no_more_than_none(
    browser: Browser, emulators: dict[str, EmulatorProcess]
):
    empty = measure(browser, emulators["empty"])
    full = measure(browser, emulators["60 MB"])

    assert full["idle"] <= empty["idle"] + 64, (empty, full)  # at most a heartbeat's worth
    # The same changes cost the same bytes (ids and counters may differ by a digit or two).
    assert full["updates"] <= empty["updates"] * 1.05 + 256, (empty, full)
    assert empty["updates"] > 0
    # Even the first load reads previews, not the values: far below what is stored.
    assert full["load"] < STORED_BYTES / 30, (empty, full)


def test_a_whole_value_is_read_on_demand(browser: Browser, emulators: dict[str, EmulatorProcess]):
    context = browser.new_context(viewport=VIEWPORT)
    page = open_playground(context.new_page(), emulators["60 MB"].base_url + "/")
    page.click("[data-tab='state']")
    row = page.locator("#storage tr", has=page.locator("code.key", has_text="blob-0007"))
    expect(row.locator("pre.value")).to_have_text(re.compile('^"0007.*…$'))  # JSON, cut
    row.locator(".show-value").click()
    expect(row.locator("pre.value")).not_to_have_text(re.compile("…$"))
    assert len(row.locator("pre.value").inner_text()) == VALUE_CHARACTERS
    context.close()


def test_the_page_follows_an_emulator_that_restarts(browser: Browser, tmp_path: Path):
    db = str(tmp_path / "restarted.db")
    first = start_emulator(tmp_path, db=db)
    port = int(first.base_url.rsplit(":", 1)[1])
    context = browser.new_context(viewport=VIEWPORT)
    page = open_playground(context.new_page(), first.base_url + "/")
    second = None
    try:
        expect(page.locator("#connection")).to_have_text("live")
        first.stop()
        expect(page.locator("#connection")).to_have_text("reconnecting…")
        second = start_emulator(tmp_path, db=db, port=port)
        expect(page.locator("#connection")).to_have_text("live", timeout=15_000)
        with httpx.Client(base_url=second.base_url, trust_env=False, timeout=10) as http:
            http.post(
                "/_emulator/events", json={"organization_uuid": ACME, "event": "kudos.posted"}
            )
        expect(page.locator("#conversation li.item-event")).to_have_count(1)
    finally:
        context.close()
        for handle in (first, second):
            if handle is not None:
                handle.stop()
