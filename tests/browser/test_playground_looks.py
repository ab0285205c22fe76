"""Item 4 in Chromium: chat formatting as the platforms render it (no emphasis inside words),
a layout that stacks below 900 px, styled controls, and an example body for every event."""

from __future__ import annotations

import json
import math
from datetime import datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import LOCAL_API_KEY
from tests.browser.conftest import Playground, open_playground, screenshot

DIGEST = (
    "*Daily digest*: 7 activity records in the last 24 hours "
    "(usage/triggered x4, organization/user_activated x2, error/platform_failed x1)."
)


def rendered(page: Page, text: str) -> str:
    """The HTML the playground makes of a message."""
    html: str = page.evaluate(
        """(text) => {
          const box = document.createElement("div");
          box.append(window.DailybotFormatting.renderMessage(text));
          return box.innerHTML;
        }""",
        text,
    )
    return html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            DIGEST,
            "<p><strong>Daily digest</strong>: 7 activity records in the last 24 hours "
            "(usage/triggered x4, organization/user_activated x2, error/platform_failed x1).</p>",
        ),
        ("snake_case_name and 2*3*4", "<p>snake_case_name and 2*3*4</p>"),
        (
            "_italic_, *bold*, ~gone~.",
            "<p><em>italic</em>, <strong>bold</strong>, <s>gone</s>.</p>",
        ),
        ("(_aside_) *kudos_count*", "<p>(<em>aside</em>) <strong>kudos_count</strong></p>"),
        ("_ not _ and * not *", "<p>_ not _ and * not *</p>"),
        ("`a_b_c` stays code", "<p><code>a_b_c</code> stays code</p>"),
    ],
)
def test_emphasis_only_at_word_edges(page: Page, text: str, html: str):
    assert rendered(page, text) == html


def seconds_to_the_next_digest(playground: Playground) -> int:
    now = datetime.fromisoformat(playground.control("GET", "clock").json()["now"])
    schedules = playground.control("GET", "schedules").json()
    # Acme's: a public command has one in each organization that has used it.
    [digest] = [
        s
        for s in schedules
        if s["name"] == "daily-digest"
        and s["organization_uuid"] == "11111111-1111-4111-8111-111111111111"
    ]
    return math.ceil((datetime.fromisoformat(digest["next_fire_at"]) - now).total_seconds())


def test_the_digest_renders_without_italics_in_the_conversation(page: Page, playground: Playground):
    page.fill("#command", "history")  # the app declares the daily digest beside a delivery
    page.press("#command", "Enter")
    page.click("[data-tab='state']")
    expect(page.locator("#schedules")).to_contain_text("daily-digest")
    # A minute before the digest's next run (which reports the day before it), activity whose
    # names hold underscores, as the digest had.
    playground.control("POST", "clock/advance", seconds=seconds_to_the_next_digest(playground) - 60)
    with httpx.Client(base_url=playground.url, trust_env=False, timeout=10) as http:
        token = http.post(
            "v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": LOCAL_API_KEY},
            json={"user_uuid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"},
        ).json()["token"]
        for category, action in (("organization", "user_activated"), ("error", "platform_failed")):
            http.post(
                "v1/platform/activity/",
                headers={"X-API-KEY": LOCAL_API_KEY, "X-EXCHANGE-TOKEN": token},
                json={"category": category, "action": action},
            ).raise_for_status()
    page.click("[data-tab='controls']")
    page.fill("#advance-seconds", "60")
    page.click("#clock-form button[type='submit']")
    # The one of Acme, whose activity this is (another organization using the command has a
    # digest of its own, at its own 09:00).
    digest = (
        page.locator("#conversation li.item-scheduled_execution .from-bot .bubble")
        .filter(has_text="user_activated")
        .last
    )
    expect(digest.locator("strong").first).to_have_text("Daily digest")
    expect(digest).to_contain_text("organization/user_activated x1")
    expect(digest).to_contain_text("error/platform_failed x1")
    expect(digest.locator("em")).to_have_count(0)


def test_the_layout_stacks_below_900_pixels(browser: Browser, playground: Playground):
    context = browser.new_context(viewport={"width": 700, "height": 900})
    page = open_playground(context.new_page(), playground.url)
    page.fill("#command", "vote")
    page.press("#command", "Enter")
    page.locator("#conversation .from-bot", has_text="Shall we ship it?").last.wait_for()

    widths = page.evaluate(
        "({page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth})"
    )
    conversation = page.locator("#conversation-panel").bounding_box()
    side = page.locator("#side").bounding_box()
    assert conversation is not None
    assert side is not None
    assert widths["page"] <= widths["view"], widths  # nothing overflows sideways
    assert side["y"] >= conversation["y"] + conversation["height"]  # stacked, not side by side
    assert abs(side["x"] - conversation["x"]) < 2
    assert conversation["width"] > 600
    screenshot(page, "narrow")
    context.close()


def test_the_layout_has_two_columns_at_1400_pixels(page: Page):
    conversation = page.locator("#conversation-panel").bounding_box()
    side = page.locator("#side").bounding_box()
    assert conversation is not None
    assert side is not None
    assert side["x"] > conversation["x"] + conversation["width"]
    assert abs(side["y"] - conversation["y"]) < 2


@pytest.mark.parametrize(
    "selector",
    ["#composer button[type='submit']", "#new-conversation", "#reset", "#save-transcript"],
)
def test_controls_are_styled_not_browser_defaults(page: Page, selector: str):
    page.click("[data-tab='controls']")
    style = page.eval_on_selector(
        selector,
        """(node) => {
          const s = getComputedStyle(node);
          return {radius: s.borderTopLeftRadius, font: s.fontFamily, padding: s.paddingLeft,
                  cursor: s.cursor, background: s.backgroundColor};
        }""",
    )
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert style["radius"] == "6px"
    assert style["font"] == body_font  # not the platform's control font
    assert style["cursor"] == "pointer"
    assert float(style["padding"].removesuffix("px")) >= 8
    assert style["background"] not in ("rgb(239, 239, 239)", "rgb(240, 240, 240)")


def test_every_event_starts_from_its_example_body(page: Page):
    page.click("[data-tab='controls']")
    names = page.locator("#event-name option").all_inner_texts()
    assert len(names) == 11
    seen = {}
    for name in names:
        page.select_option("#event-name", name)
        body = json.loads(page.input_value("#event-body"))
        assert body, name
        seen[name] = body
    assert seen["kudos.posted"]["kudos"]["from"] == "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    assert seen["organization.team_user_added"]["team"]["name"] == "Engineering"
    assert seen["followups.response.completed"]["response"]["answers"]

    # A body edited by hand stays when another event is chosen, until the example is asked for.
    page.fill("#event-body", '{"mine": true}')
    page.select_option("#event-name", "forms.response.created")
    assert json.loads(page.input_value("#event-body")) == {"mine": True}
    page.click("#event-example")
    assert json.loads(page.input_value("#event-body")) == seen["forms.response.created"]
    screenshot(page, "controls")


def test_a_fired_event_leaves_its_trace_in_the_conversation_even_with_no_hook(
    page: Page, playground: Playground
):
    page.select_option("#organization", "22222222-2222-4222-8222-222222222222")
    page.click("[data-tab='controls']")
    page.select_option("#event-name", "forms.response.deleted")
    page.click("#event-form button[type='submit']")
    event = page.locator("#conversation li.item-event").last
    expect(event.locator(".system")).to_contain_text("forms.response.deleted in Globex")
    expect(event).to_contain_text("no hook of this organization is subscribed to it")
