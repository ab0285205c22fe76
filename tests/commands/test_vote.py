"""`vote`: a question with buttons; a click runs the button's value as a command."""

from __future__ import annotations

from testkit import Dailybot


def test_vote_asks_with_command_buttons(dailybot: Dailybot) -> None:
    reply = dailybot.invoke("vote")

    assert reply.message == "*Shall we ship it?*"
    assert [(b.label, b.value, b.button_type) for b in reply.buttons] == [
        ("Yes", "vote yes", "Command"),
        ("No", "vote no", "Command"),
    ]


def test_each_user_has_one_vote(dailybot: Dailybot) -> None:
    yes, no = dailybot.invoke("vote").buttons

    assert dailybot.click(yes).message == "You voted *yes*."
    assert dailybot.click(no, user="John Roe").message == "You voted *no*."
    dailybot.click(no)

    assert dailybot.user_storage()["vote"] == "no"
    assert dailybot.user_storage("John Roe")["vote"] == "no"
    assert dict(dailybot.storage) == {}


def test_an_unknown_choice_explains_the_usage(dailybot: Dailybot) -> None:
    assert "Usage" in dailybot.invoke("vote maybe").message
