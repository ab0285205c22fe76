"""Items 2 and 3 in Chromium against `make run`'s stack: a timeline, not a log. Follow-ups sit
under the invocation that deferred them, labelled with their job; events and scheduled runs
appear with what they caused; the conversation and the inspector survive a reload; a new
conversation, a new user, and transcripts saved and loaded back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from devstack.stack import LOCAL_API_KEY
from tests.browser.conftest import Playground, open_playground, screenshot

JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"


def send(page: Page, line: str) -> None:
    page.fill("#command", line)
    page.press("#command", "Enter")


def item(page: Page, text: str):  # type: ignore[no-untyped-def]
    """The conversation item whose user typed `text`."""
    return page.locator("#conversation li.item", has=page.locator(".typed", has_text=text)).last


def test_the_report_follow_up_is_under_report_labelled_with_its_job_after_a_reload(
    page: Page, playground: Playground
):
    period = f"q-{uuid.uuid4().hex[:6]}"
    send(page, f"remember color-{period} blue")
    send(page, f"report {period}")
    report = item(page, f"report {period}")
    follow_up = report.locator(".caused .follow-up")
    expect(follow_up).to_contain_text(f"Report for {period}")
    expect(follow_up.locator(".who")).to_contain_text("build-report (follow-up)")
    send(page, "vote")  # something after it, so "under it" means something
    expect(item(page, "vote").locator(".from-bot")).to_contain_text("Shall we ship it?")

    page.reload()
    page.wait_for_selector("body[data-ready='true']", state="attached")

    report = item(page, f"report {period}")
    expect(report.locator(".from-bot").first).to_contain_text("Building your report")
    follow_up = report.locator(".caused .follow-up")
    expect(follow_up.locator(".who")).to_contain_text("build-report (follow-up)")
    expect(follow_up.locator(".bubble strong")).to_have_text(f"Report for {period}")
    texts = page.locator("#conversation .typed").all_inner_texts()
    assert texts[-3:] == [f"remember color-{period} blue", f"report {period}", "vote"]
    # No follow-up floats on its own anywhere in the conversation.
    expect(page.locator("#conversation li.item-message")).to_have_count(0)
    screenshot(page, "conversation")


def test_a_late_follow_up_of_an_earlier_command_goes_under_that_command(
    page: Page, playground: Playground
):
    send(page, "history")
    expect(item(page, "history").locator(".from-bot")).to_contain_text("activity")
    send(page, "vote")
    expect(item(page, "vote").locator(".from-bot")).to_contain_text("Shall we ship it?")
    timeline = playground.control("GET", "timeline").json()["items"]
    history = [i for i in timeline if i["subject"] == "history"][-1]
    correlation = history["runs"][0]["correlation_id"]
    assert correlation

    with httpx.Client(base_url=playground.url, trust_env=False, timeout=10) as http:
        token = http.post(
            "v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": LOCAL_API_KEY},
            json={"user_uuid": JANE},
        ).json()["token"]
        http.post(
            "v1/send-message/",
            headers={
                "X-API-KEY": LOCAL_API_KEY,
                "X-EXCHANGE-TOKEN": token,
                "X-Correlation-Id": correlation,
                "X-Dailybot-Job": "export-history",
                "X-Dailybot-Job-Id": uuid.uuid4().hex[:16],
            },
            json={"message": "History exported, *late*"},
        ).raise_for_status()

    late = item(page, "history").locator(".caused .follow-up")
    expect(late).to_contain_text("History exported, late")
    expect(late.locator(".who")).to_contain_text("export-history (follow-up)")
    last = page.locator("#conversation li.item").last
    expect(last.locator(".typed")).to_have_text("vote")


def test_events_and_scheduled_runs_appear_with_what_they_caused(page: Page):
    send(page, "history")  # the app registers its hook and the daily digest on a delivery
    expect(item(page, "history").locator(".from-bot")).to_contain_text("activity")
    # The app registers its hook beside its first delivery: wait until the emulator has it.
    page.click("[data-tab='state']")
    expect(page.locator("#hooks")).to_contain_text("kudos.posted")
    page.click("[data-tab='controls']")
    page.select_option("#event-name", "kudos.posted")
    expect(page.locator("#event-body")).to_have_value(json.dumps(_example(page), indent=2))
    assert "Thanks John" in page.input_value("#event-body")
    page.click("#event-form button[type='submit']")
    event = page.locator("#conversation li.item-event").last
    expect(event.locator(".system")).to_contain_text("kudos.posted in Acme")
    expect(event.locator(".from-bot .meta")).to_contain_text("status 200")
    event.locator("details.calls summary").click()
    expect(event.locator("li.call .summary")).to_contain_text(["storage set kudos_count"])

    page.fill("#advance-seconds", str(3 * 24 * 3600))
    page.click("#clock-form button[type='submit']")
    scheduled = page.locator("#conversation li.item-scheduled_execution").last
    expect(scheduled.locator(".system")).to_contain_text("daily-digest (scheduled)")
    expect(scheduled.locator(".bubble strong").first).to_have_text("Daily digest")


def _example(page: Page) -> object:
    answer = page.evaluate(
        "async () => (await fetch('/_emulator/event-examples?organization_uuid="
        "11111111-1111-4111-8111-111111111111')).json()"
    )
    return answer["kudos.posted"]


def test_the_conversation_and_the_inspector_survive_a_reload(page: Page):
    key = f"kept-{uuid.uuid4().hex[:6]}"
    send(page, f"remember {key} green")
    expect(item(page, key).locator(".from-bot")).to_contain_text("Got it")
    page.fill("#filter-subject", "remember")
    expect(page.locator("#deliveries details.delivery").first).to_contain_text("remember")

    page.reload()
    page.wait_for_selector("body[data-ready='true']", state="attached")

    expect(item(page, key).locator(".from-bot")).to_contain_text(f"Got it: {key} is green.")
    first = page.locator("#deliveries details.delivery").first
    first.locator("summary").click()
    expect(first.locator("pre.body")).to_contain_text(f'"query": "{key} green"')


def test_a_new_conversation_hides_what_came_before_and_keeps_it_in_the_inspector(page: Page):
    key = f"before-{uuid.uuid4().hex[:6]}"
    send(page, f"remember {key} red")
    expect(item(page, key).locator(".from-bot")).to_contain_text("Got it")

    page.click("#new-conversation")

    expect(page.locator("#conversation li.item")).to_have_count(0)
    expect(page.locator("#conversation-empty")).to_be_visible()
    expect(page.locator("#deliveries")).to_contain_text("remember")
    send(page, "vote")
    expect(page.locator("#conversation li.item")).to_have_count(1)
    page.reload()
    page.wait_for_selector("body[data-ready='true']", state="attached")
    expect(page.locator("#conversation li.item")).to_have_count(1)


def test_start_as_a_new_user(page: Page, playground: Playground):
    page.click("#new-user")
    selected = page.locator("#user option:checked")
    expect(selected).to_contain_text("New user")
    expect(selected).to_contain_text("America/Bogota")
    expect(page.locator("#conversation li.item")).to_have_count(0)
    new_uuid = page.input_value("#user")
    assert new_uuid != JANE

    send(page, "vote")
    voted = item(page, "vote")
    expect(voted.locator(".from-user .who")).to_contain_text("New user")
    expect(voted.locator(".from-bot")).to_contain_text("Shall we ship it?")
    [delivery] = [
        d
        for d in playground.control("GET", "deliveries").json()
        if d["body"].get("user_uuid") == new_uuid
    ]
    assert delivery["body"]["user_context"]["timezone"] == "America/Bogota"
    page.reload()
    page.wait_for_selector("body[data-ready='true']", state="attached")
    expect(page.locator("#user option:checked")).to_contain_text("New user")


def test_a_transcript_is_saved_as_json_and_loaded_back(page: Page, tmp_path: Path):
    key = f"saved-{uuid.uuid4().hex[:6]}"
    send(page, f"remember {key} gold")
    expect(item(page, key).locator(".from-bot")).to_contain_text("Got it")
    send(page, "vote")
    expect(item(page, "vote").locator(".reply-button")).to_have_count(2)

    with page.expect_download() as download:
        page.click("#save-transcript")
    path = tmp_path / "transcript.json"
    download.value.save_as(path)
    saved = json.loads(path.read_text())
    assert saved["format"] == "dailybot-playground-transcript"
    assert saved["user"]["full_name"] == "Jane Doe"
    assert [i["runs"][0]["query"] for i in saved["items"]] == [f"{key} gold", ""]
    assert set(_token_values(saved)) == {"••••••"}  # every token in it is masked

    page.click("#new-conversation")
    expect(page.locator("#conversation li.item")).to_have_count(0)
    page.set_input_files("#transcript-file", str(path))

    expect(page.locator("#transcript-banner")).to_contain_text("Transcript of Jane Doe in Acme")
    expect(item(page, key).locator(".from-bot")).to_contain_text(f"Got it: {key} is gold.")
    expect(item(page, "vote").locator(".reply-button").first).to_be_disabled()
    expect(page.locator("#command")).to_be_disabled()

    page.click("#back-to-live")
    expect(page.locator("#transcript-banner")).to_be_hidden()
    expect(page.locator("#conversation li.item")).to_have_count(0)
    expect(page.locator("#command")).to_be_enabled()


def _token_values(value: object) -> list[object]:
    """Every `exchange_token` in a JSON value, at any depth."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "exchange_token"]
        return found + [t for v in value.values() for t in _token_values(v)]
    if isinstance(value, list):
        return [t for v in value for t in _token_values(v)]
    return []


def test_a_file_that_is_not_a_transcript_is_refused_clearly(page: Page, tmp_path: Path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": "world"}))
    page.set_input_files("#transcript-file", str(path))
    expect(page.locator("#toast")).to_contain_text("is not a playground transcript")
    expect(page.locator("#transcript-banner")).to_be_hidden()


def test_a_second_page_sees_the_same_conversation(page: Page, playground: Playground):
    key = f"shared-{uuid.uuid4().hex[:6]}"
    send(page, f"remember {key} teal")
    expect(item(page, key).locator(".from-bot")).to_contain_text("Got it")
    other = page.context.new_page()
    open_playground(other, playground.url)
    expect(item(other, key).locator(".from-bot")).to_contain_text(f"Got it: {key} is teal.")
    other.close()
