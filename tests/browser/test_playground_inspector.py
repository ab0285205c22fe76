"""The inspector in Chromium: filters by kind, intent, status and organization; timings; a
delivery replayed as it was (answered from the app's ledger: the handler does not run again)
and edited (a new delivery, which runs)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Playground, screenshot

ACME = "11111111-1111-4111-8111-111111111111"
GLOBEX = "22222222-2222-4222-8222-222222222222"


def send(page: Page, line: str) -> None:
    page.fill("#command", line)
    page.press("#command", "Enter")


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#deliveries details.delivery")


def kudos_count(playground: Playground) -> int:
    values = [
        e["value"] for e in playground.control("GET", "storage").json() if e["key"] == "kudos_count"
    ]
    return int(values[0]) if values else 0


def test_the_inspector_filters_by_kind_intent_status_and_organization(
    page: Page, playground: Playground
):
    tag = uuid.uuid4().hex[:6]
    send(page, f"remember filter-{tag} x")
    send(page, "DANCE")  # refused before any delivery: not in the inspector
    playground.control("POST", "invoke", intent="greet", organization_uuid=GLOBEX)
    expect(page.locator("#conversation .from-bot", has_text=f"filter-{tag}")).to_have_count(1)

    page.fill("#filter-subject", "greet")
    expect(rows(page).first.locator(".subject")).to_have_text("greet")
    expect(rows(page).locator(".subject").filter(has_not_text="greet")).to_have_count(0)
    page.click("#filter-clear")

    page.select_option("#filter-organization", GLOBEX)
    expect(rows(page).first.locator(".organization")).to_have_text("Globex")
    expect(rows(page).locator(".organization").filter(has_not_text="Globex")).to_have_count(0)
    page.select_option("#filter-organization", ACME)
    expect(rows(page).first.locator(".subject")).to_have_text("remember")

    page.select_option("#filter-kind", "platform_call")
    expect(rows(page).first.locator(".kind")).to_have_text("platform call")
    page.fill("#filter-subject", "storage set filter")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator(".subject")).to_have_text(f"storage set filter-{tag}")
    expect(rows(page).first.locator(".job")).to_have_text("during remember")

    page.click("#filter-clear")
    page.select_option("#filter-status", "2xx")
    expect(rows(page).first.locator(".status")).to_have_text("200")
    page.select_option("#filter-status", "4xx")
    expect(rows(page).locator(".status").filter(has_text="200")).to_have_count(0)

    # A delivery that arrives while a filter is set shows only if it matches.
    page.click("#filter-clear")
    page.select_option("#filter-kind", "event")
    send(page, f"recall filter-{tag}")
    expect(page.locator("#conversation .from-bot", has_text=f"filter-{tag} is")).to_have_count(1)
    expect(rows(page).locator(".kind", has_text="invocation")).to_have_count(0)


def test_a_delivery_shows_its_timings(page: Page):
    send(page, "report timings")
    expect(page.locator("#conversation .follow-up", has_text="Report for timings")).to_have_count(1)
    row = rows(page).filter(has=page.locator(".subject", has_text="report")).first
    row.locator("summary").click()
    timings = row.locator("table tr")
    expect(timings.nth(1)).to_contain_text("attempt 1")
    expect(row.locator("table")).to_contain_text("send message")
    expect(row.locator("table")).to_contain_text("build-report")
    expect(row.locator("table")).to_contain_text("follow-up (build-report)")
    expect(row.locator(".timing .fill").first).to_be_visible()
    expect(row.locator(".latency")).to_contain_text("ms")
    expect(row.locator("p.meta")).to_contain_text("correlation ")
    screenshot(page, "inspector")


def test_replay_as_it_was_is_answered_from_the_ledger_and_edited_runs_again(
    page: Page, playground: Playground
):
    send(page, "history")  # makes sure the app's hook is registered
    expect(page.locator("#conversation .from-bot", has_text="activity")).to_have_count(1)
    # The app registers its hook beside its first delivery: wait until the emulator has it.
    page.click("[data-tab='state']")
    expect(page.locator("#hooks")).to_contain_text("kudos.posted")
    page.click("[data-tab='controls']")
    page.select_option("#event-name", "kudos.posted")
    page.click("#event-form button[type='submit']")
    expect(page.locator("#control-result")).to_contain_text("kudos.posted delivered to 1 hook")
    after_event = kudos_count(playground)

    page.click("[data-tab='inspector']")
    page.select_option("#filter-kind", "event")
    key = rows(page).first.get_attribute("data-key")
    event = page.locator(f"#deliveries [data-key='{key}']")  # the original, wherever it moves
    event.locator("summary").click()
    event.locator(".replay-as-it-was").click()
    expect(event.locator(".replay-result")).to_contain_text("→ 200")
    assert kudos_count(playground) == after_event  # a redelivery: the handler did not run
    replayed = rows(page).first
    expect(replayed.locator(".kind")).to_have_text("event ↻")
    replayed.locator("summary").click()
    expect(replayed.locator("p.meta")).to_contain_text("answered like")

    original = event
    original.locator(".edit-and-replay").click()
    editor = original.locator("textarea.replay-body")
    expect(editor).to_have_value(re.compile('"exchange_token": "••••••"'))
    edited = editor.input_value().replace('"message": "Thanks', '"message": "Edited thanks')
    editor.fill(edited)
    original.locator(".send-edited").click()
    expect(original.locator(".replay-result")).to_contain_text("→ 200")
    assert kudos_count(playground) == after_event + 1  # a new delivery: it ran
    newest = playground.control("GET", "deliveries").json()[-1]
    assert newest["body"]["body"]["kudos"]["message"].startswith("Edited thanks")
    replays = page.locator("#conversation li.item-event .system", has_text="replay of kudos.posted")
    expect(replays).to_have_count(2)


def test_a_bad_edited_body_is_refused_in_place(page: Page):
    send(page, "vote")
    expect(page.locator("#conversation .from-bot", has_text="Shall we ship it?")).to_have_count(1)
    row = rows(page).first
    row.locator("summary").click()
    row.locator(".edit-and-replay").click()
    row.locator("textarea.replay-body").fill("{not json")
    row.locator(".send-edited").click()
    expect(row.locator(".replay-result")).to_have_text("The edited body is not valid JSON.")
