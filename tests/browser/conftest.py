"""The playground in a real browser: `make run`'s stack as processes, driven by Chromium.

Playwright's own browser download cannot be reached from these machines, so the tests launch
Debian's Chromium (`/usr/bin/chromium`, or `PLAYGROUND_CHROMIUM`); `make test` installs it with
apt-get when it can. Without it the tests skip, except under `CI=true`, where they fail.
Screenshots go to `.local/screenshots/` (or `PLAYGROUND_SCREENSHOTS`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.servers import ROOT, ServerProcess, free_port, start_server

CHROMIUM = Path(os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", ROOT / ".local" / "screenshots"))
VIEWPORT = {"width": 1400, "height": 900}


def _require_chromium() -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = (
        f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
        "(make test does when apt-get is available) to run the browser tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass
class Playground:
    """`python -m devstack --clock virtual`, as `make run ARGS="--clock virtual"` starts it."""

    devstack: ServerProcess
    url: str
    app_url: str

    def control(self, method: str, path: str, **body: object) -> httpx.Response:
        response = httpx.request(
            method, f"{self.url}_emulator/{path}", json=body or None, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response


@pytest.fixture(scope="session")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    _require_chromium()
    tmp = tmp_path_factory.mktemp("playground")
    emulator_port, app_port = free_port(), free_port()
    ports = ["--emulator-port", str(emulator_port), "--app-port", str(app_port)]
    devstack = start_server(
        "devstack",
        ["-m", "devstack", "--clock", "virtual", *ports],
        port=emulator_port,
        ready_path="/_emulator/health",
        log_dir=tmp,
        env={"DEVSTACK_STATE_DIR": str(tmp / "state")},
        timeout=60,
    )
    try:
        deadline = time.monotonic() + 60
        while "playground: " not in devstack.log():  # printed once the app answers too
            if time.monotonic() > deadline or devstack.process.poll() is not None:
                raise RuntimeError(f"devstack did not start:\n{devstack.log()}")
            time.sleep(0.2)
        yield Playground(
            devstack, f"http://127.0.0.1:{emulator_port}/", f"http://127.0.0.1:{app_port}"
        )
    finally:
        devstack.stop()


@pytest.fixture(scope="session")
def browser(playground: Playground) -> Iterator[Browser]:
    with sync_playwright() as driver:
        yield _launch(driver)


def _launch(driver: Playwright) -> Browser:
    # Tests run as root in CI, where Chromium refuses to start sandboxed.
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])


@pytest.fixture
def page(browser: Browser, playground: Playground) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.goto(playground.url)
    opened.wait_for_selector("body[data-ready='true']", state="attached")
    yield opened
    context.close()
    assert problems == [], "the page raised JavaScript errors"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
