"""The playground beside the shell: what `python -m emulator invoke` and `trigger` do shows up
in an open page as it happens, and the page downloads the whole state that `--import` reads."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Playground
from tests.servers import ROOT


def shell(playground: Playground, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args, "--url", playground.url.rstrip("/")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_what_the_shell_does_appears_in_the_open_page(page: Page, playground: Playground):
    key = f"shell-{uuid.uuid4().hex[:6]}"
    typed = shell(playground, "invoke", f"remember {key} amber", "--user", "Jane")
    assert typed.returncode == 0, typed.stderr
    item = page.locator("#conversation li.item", has=page.locator(".typed", has_text=key))
    expect(item.locator(".from-bot")).to_contain_text(f"Got it: {key} is amber.")

    # The hook is registered beside the app's first delivery: wait until the emulator has it.
    page.click("[data-tab='state']")
    expect(page.locator("#hooks")).to_contain_text("kudos.posted")
    fired = shell(playground, "trigger", "kudos.posted")
    assert fired.returncode == 0, fired.stderr
    event = page.locator("#conversation li.item-event").last
    expect(event.locator(".system")).to_contain_text("kudos.posted in Acme")
    expect(event.locator(".from-bot .meta")).to_contain_text("status 200")


def test_the_whole_state_downloads_as_a_file_import_reads(
    page: Page, playground: Playground, tmp_path: Path
):
    key = f"kept-{uuid.uuid4().hex[:6]}"
    page.fill("#command", f"remember {key} jade")
    page.press("#command", "Enter")
    expect(page.locator("#conversation .from-bot", has_text=key)).to_have_count(1)
    page.click("[data-tab='controls']")

    with page.expect_download() as download:
        page.click("#download-state")
    path = tmp_path / "state.json"
    download.value.save_as(path)

    state = json.loads(path.read_text())
    assert state["format"] == "dailybot-emulator-state"
    assert state["clock"]["mode"] == "virtual"
    assert "jade" in [row["value"] for row in state["tables"]["storage"] if row["key"] == key]
    assert {"schedules", "hooks", "activity", "messages", "runs"} <= set(state["tables"])
