"""The README's "Testing your commands" example, exactly as a command's author writes it."""


def test_remember_and_recall(dailybot):
    assert dailybot.invoke("remember color blue").message == "Got it: *color* is `blue`."
    assert dailybot.invoke("recall color").message == "*color* is `blue`."
    assert dailybot.storage["color"] == "blue"


def test_buttons(dailybot):
    reply = dailybot.invoke("vote")
    assert [b.label for b in reply.buttons] == ["Yes", "No"]
    assert "yes" in dailybot.click(reply.buttons[0]).message.lower()


def test_digest(dailybot):
    replies = dailybot.advance(days=7)  # fires what is due, in order
    assert sum("Daily digest" in r.message for r in replies) == 5


def test_kudos(dailybot):
    dailybot.fire_event("kudos.posted", {"kudos": {"receiver": "bbbbbbbb-..."}})
    assert dailybot.storage["kudos_count"] == 1


def test_report_follows_up(dailybot):
    dailybot.invoke("report weekly")
    assert "weekly" in dailybot.messages[-1].message  # jobs have run when invoke returns
