"""The playground in a real browser: `make run`'s stack as processes, driven by Chromium.

Playwright's own browser download cannot be reached from these machines, so the tests launch
Debian's Chromium (`/usr/bin/chromium`, or `PLAYGROUND_CHROMIUM`); `make test` installs it with
apt-get when it can. Without it the tests skip, except under `CI=true`, where they fail.
Screenshots go to `.local/screenshots/` (or `PLAYGROUND_SCREENSHOTS`).

Chromium is launched with its own local-network protection off, so that a hostile page's
requests reach the emulator and the tests see the emulator refuse them (a person may allow a
page through that prompt, and other browsers do not have it), and with `rebind.test` resolving
to 127.0.0.1, which is what a DNS-rebinding page achieves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.servers import ROOT, ServerProcess, free_port, start_devstack

CHROMIUM = Path(os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", ROOT / ".local" / "screenshots"))
VIEWPORT = {"width": 1400, "height": 900}
REBOUND_NAME = "rebind.test"
CHROMIUM_ARGS = (
    "--no-sandbox",  # tests run as root in CI, where Chromium refuses to start sandboxed
    "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults,"
    "BlockInsecurePrivateNetworkRequests",
    f"--host-resolver-rules=MAP {REBOUND_NAME} 127.0.0.1",
)


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
    state_dir: Path

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def emulator_log(self) -> str:
        return (self.state_dir / "emulator.log").read_text(errors="replace")

    def control(self, method: str, path: str, **fields: object) -> httpx.Response:
        """A control call: `fields` are the query of a GET, else the JSON body (always sent,
        since the emulator refuses a write that is not JSON)."""
        reading = method == "GET"
        response = httpx.request(
            method,
            f"{self.url}_emulator/{path}",
            params={k: str(v) for k, v in fields.items()} if reading else None,
            json=None if reading else fields,
            timeout=30,
            trust_env=False,
        )
        response.raise_for_status()
        return response


@pytest.fixture(scope="session")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    _require_chromium()
    tmp = tmp_path_factory.mktemp("playground")
    emulator_port, app_port = free_port(), free_port()
    devstack = start_devstack(
        tmp, emulator_port=emulator_port, app_port=app_port, extra_args=["--clock", "virtual"]
    )
    try:
        yield Playground(
            devstack,
            f"http://127.0.0.1:{emulator_port}/",
            f"http://127.0.0.1:{app_port}",
            tmp / "state",
        )
    finally:
        devstack.stop()


@pytest.fixture(scope="session")
def browser(playground: Playground) -> Iterator[Browser]:
    with sync_playwright() as driver:
        yield _launch(driver)


def _launch(driver: Playwright) -> Browser:
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))


def open_playground(page: Page, url: str) -> Page:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']", state="attached")
    return page


@pytest.fixture
def page(browser: Browser, playground: Playground) -> Iterator[Page]:
    """The playground in a fresh browser context, in a new conversation (the session's stack
    is shared: earlier tests' messages stay in the timeline, hidden from this one)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    open_playground(opened, playground.url)
    opened.click("#new-conversation")
    opened.wait_for_selector("#conversation-empty:not([hidden])", state="attached")
    yield opened
    context.close()
    assert problems == [], f"the page raised JavaScript errors: {problems}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
