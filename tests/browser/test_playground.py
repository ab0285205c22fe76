"""The playground page against the real local stack: typing, buttons, events, the virtual clock,
follow-ups, the inspector, and text that holds HTML."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.sync_api import Locator, Page, expect

from devstack.stack import LOCAL_API_KEY
from tests.browser.conftest import Playground, screenshot

JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"


def send(page: Page, line: str) -> None:
    page.fill("#command", line)
    page.press("#command", "Enter")


def open_tab(page: Page, name: str) -> None:
    page.click(f"[data-tab='{name}']")


def test_a_typed_command_gets_its_reply_with_chat_formatting(page: Page):
    key = f"color-{uuid.uuid4().hex[:6]}"

    send(page, f"remember {key} blue")
    reply = page.locator("#conversation .from-bot").last
    expect(reply).to_contain_text(f"Got it: {key} is blue.")
    expect(reply.locator("strong")).to_have_text(key)
    expect(reply.locator("code")).to_have_text("blue")
    expect(reply.locator(".meta")).to_contain_text("status 200")

    send(page, f"recall {key}")
    expect(page.locator("#conversation .from-bot").last).to_contain_text(f"{key} is blue.")
    page.press("#command", "ArrowUp")
    expect(page.locator("#command")).to_have_value(f"recall {key}")
    page.press("#command", "ArrowUp")
    expect(page.locator("#command")).to_have_value(f"remember {key} blue")


def test_clicking_a_button_runs_its_value_as_a_command(page: Page):
    send(page, "remember color blue")  # context for the screenshot below
    expect(page.locator("#conversation .from-bot")).to_have_count(1)
    send(page, "vote")
    question = page.locator("#conversation .from-bot", has_text="Shall we ship it?").last
    expect(question.locator("strong")).to_have_text("Shall we ship it?")
    expect(question.locator(".reply-button")).to_have_text(["Yes", "No"])

    question.get_by_role("button", name="Yes").click()

    expect(page.locator("#conversation .from-user").last).to_contain_text("vote yes")
    answer = page.locator("#conversation .from-bot").last
    expect(answer).to_contain_text("You voted yes.")
    expect(question.locator(".reply-button").first).to_have_text("Voted")
    expect(question.locator(".reply-button").first).to_be_disabled()
    screenshot(page, "conversation")


def test_a_refusal_shows_its_status_code_and_message(page: Page):
    send(page, "DANCE now")
    refusal = page.locator("#conversation .item-refused .bubble.failed").last
    expect(refusal).to_contain_text("404")
    expect(refusal.locator("code")).to_have_text("unknown_intent")
    expect(refusal).to_contain_text("Known intents:")
    expect(refusal).to_contain_text("vote")

    send(page, "VOTE")  # intents are case-insensitive, as on Dailybot
    expect(page.locator("#conversation .from-bot").last).to_contain_text("Shall we ship it?")


def test_firing_kudos_posted_changes_kudos_count_in_the_storage_view(
    page: Page, playground: Playground
):
    send(page, "history")  # the app registers its hook on its first delivery
    expect(page.locator("#conversation .from-bot").last).to_contain_text("activity")
    open_tab(page, "state")
    expect(page.locator("#hooks")).to_contain_text("kudos.posted")
    before = _kudos_count(playground)

    open_tab(page, "controls")
    page.select_option("#event-name", "kudos.posted")
    page.fill("#event-body", json.dumps({"giver": JANE, "message": "thanks"}))
    page.click("#event-form button[type='submit']")
    expect(page.locator("#control-result")).to_contain_text("kudos.posted delivered to 1 hook")

    open_tab(page, "state")
    row = page.locator("#storage tr", has=page.locator("code.key", has_text="kudos_count"))
    expect(row.locator("pre.value")).to_have_text(str(before + 1))


def _kudos_count(playground: Playground) -> int:
    entries = playground.control("GET", "storage").json()
    values = [e["value"] for e in entries if e["key"] == "kudos_count"]
    return int(values[0]) if values else 0


def settled_count(page: Page, items: Locator) -> int:
    """How many there are once no more arrive for a second (the stream may still be sending)."""
    seen, steady = -1, 0
    for _ in range(100):
        count = items.count()
        steady = steady + 1 if count == seen else 0
        if steady >= 5:
            return count
        seen = count
        page.wait_for_timeout(200)
    return seen


def test_advancing_the_virtual_clock_shows_the_scheduled_reply(page: Page):
    send(page, "history")  # registration creates the daily-digest schedule
    open_tab(page, "state")
    expect(page.locator("#schedules")).to_contain_text("daily-digest")
    expect(page.locator("#schedules")).to_contain_text("America/Bogota")

    open_tab(page, "controls")
    # Three days always pass over a weekday 09:00 in Bogota.
    page.fill("#advance-seconds", str(3 * 24 * 3600))
    page.click("#clock-form button[type='submit']")
    # Each run that falls due is delivered before this answers: more with every schedule added.
    expect(page.locator("#control-result")).to_contain_text("fired", timeout=60_000)
    fired = int(page.locator("#control-result").inner_text().split("; ")[1].split()[0])
    assert fired >= 1

    replies = page.locator("#conversation .item-scheduled_execution")
    # Other commands' schedules may fire in those days too, and the runs of another
    # organization that used the public command are in that organization's conversation.
    digest = replies.filter(has_text="daily-digest (scheduled)").first
    expect(digest.locator(".bubble strong").first).to_have_text("Daily digest")
    shown = settled_count(page, replies)
    assert 1 <= shown <= fired

    open_tab(page, "state")
    # Acme's (another organization that used the public command has its own).
    acme = page.locator("#schedules tr", has_text="daily-digest").filter(has_text="America/Bogota")
    acme.locator(".fire-now").click()
    expect(replies).to_have_count(shown + 1)


def test_a_follow_up_appears_without_a_reload(page: Page, playground: Playground):
    text = f"Follow-up {uuid.uuid4().hex[:6]}: *done*"
    with httpx.Client(base_url=playground.url, trust_env=False, timeout=10) as http:
        token = http.post(
            "v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": LOCAL_API_KEY},
            json={"user_uuid": JANE},
        ).json()["token"]
        sent = http.post(
            "v1/send-message/",
            headers={"X-API-KEY": LOCAL_API_KEY, "X-EXCHANGE-TOKEN": token},
            json={
                "message": text,
                "buttons": [{"label": "Yes", "value": "vote yes", "button_type": "Command"}],
            },
        )
    assert sent.status_code == 200

    follow_up = page.locator("#conversation .follow-up", has_text=text.replace("*", "")).last
    expect(follow_up).to_contain_text(text.replace("*", ""))
    expect(follow_up.locator("strong")).to_have_text("done")
    expect(follow_up).to_contain_text("to Jane Doe")
    follow_up.get_by_role("button", name="Yes").click()
    expect(page.locator("#conversation .from-bot").last).to_contain_text("You voted yes.")


def test_html_in_a_reply_or_a_stored_value_renders_as_text(page: Page):
    key = f"html-{uuid.uuid4().hex[:6]}"
    payload = '<script>window.__ran = 1</script><img src=x onerror="window.__ran = 2">'

    send(page, f"remember {key} {payload}")
    reply = page.locator("#conversation .from-bot").last
    expect(reply.locator("code")).to_have_text(payload)
    open_tab(page, "state")
    row = page.locator("#storage tr", has=page.locator("code.key", has_text=key))
    expect(row.locator("pre.value")).to_have_text(payload)

    assert page.evaluate("window.__ran") is None
    assert page.locator("#conversation script, #conversation img").count() == 0
    assert page.locator("#storage script, #storage img").count() == 0


def test_the_inspector_shows_each_delivery_with_its_token_masked(page: Page):
    key = f"seen-{uuid.uuid4().hex[:6]}"
    send(page, f"remember {key} green")
    expect(page.locator("#conversation .from-bot").last).to_contain_text("Got it")
    open_tab(page, "inspector")

    delivery = page.locator("#deliveries details.delivery").first
    expect(delivery.locator(".kind")).to_have_text("invocation")
    expect(delivery.locator(".subject")).to_have_text("remember")
    expect(delivery.locator(".status")).to_have_text("200")
    expect(delivery.locator(".attempts")).to_have_text("1 attempt")
    expect(delivery.locator(".latency")).to_contain_text("ms")
    delivery.locator("summary").click()
    body = delivery.locator("pre.body")
    expect(body).to_contain_text(f'"query": "{key} green"')
    expect(body).to_contain_text('"exchange_token": "••••••"')
    expect(delivery.locator("pre.reply")).to_contain_text(f"Got it: *{key}* is `green`.")
    screenshot(page, "inspector")


def test_kim_of_globex_uses_the_public_command_in_globex(page: Page):
    key = f"tea-{uuid.uuid4().hex[:6]}"
    page.select_option("#organization", "22222222-2222-4222-8222-222222222222")
    page.select_option("#user", "cccccccc-cccc-4ccc-8ccc-cccccccccccc")

    send(page, f"remember {key} green")
    expect(page.locator("#conversation .from-bot").last).to_contain_text(f"Got it: {key} is green.")
    send(page, f"recall {key}")
    expect(page.locator("#conversation .from-bot").last).to_contain_text(f"{key} is green.")
