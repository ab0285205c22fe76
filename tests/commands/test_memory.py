"""`remember`, `recall`, `forget` and `history`, through Dailybot and the runtime."""

from __future__ import annotations

from testkit import Dailybot


def test_remember_keeps_the_whole_value(dailybot: Dailybot) -> None:
    assert dailybot.invoke("remember color deep blue").message == "Got it: *color* is `deep blue`."
    assert dict(dailybot.storage) == {"color": "deep blue"}


def test_remember_without_a_value_explains_the_usage(dailybot: Dailybot) -> None:
    assert "Usage" in dailybot.invoke("remember color").message
    assert dict(dailybot.storage) == {}


def test_recall_answers_the_stored_value_or_says_none(dailybot: Dailybot) -> None:
    dailybot.invoke("remember color blue")

    assert dailybot.invoke("recall size").message == "Nothing is stored under *size*."
    assert "Usage" in dailybot.invoke("recall").message


def test_forget_deletes_the_key(dailybot: Dailybot) -> None:
    dailybot.invoke("remember color blue")

    assert dailybot.invoke("forget color").message == "Forgot *color*."
    assert dict(dailybot.storage) == {}
    assert "Usage" in dailybot.invoke("forget a b").message


def test_users_of_one_organization_share_the_storage(dailybot: Dailybot) -> None:
    jane, john, kim = dailybot.users
    dailybot.invoke("remember color blue", user=jane)

    assert dailybot.invoke("recall color", user=john).message == "*color* is `blue`."
    assert jane.organization_uuid == john.organization_uuid != kim.organization_uuid


def test_another_organization_has_storage_of_its_own(dailybot: Dailybot) -> None:
    kim = dailybot.users[2]
    dailybot.invoke("remember color blue")

    assert dailybot.invoke("recall color", user=kim).message == "Nothing is stored under *color*."
    dailybot.invoke("remember color red", user=kim)
    assert dailybot.storage["color"] == "blue"
    assert dailybot.storage_for(kim)["color"] == "red"


def test_every_invocation_records_usage_once(dailybot: Dailybot) -> None:
    dailybot.invoke("remember color blue")
    dailybot.invoke("recall color", user="John Roe")

    usage = [(r.action, r.label, r.user) for r in dailybot.activity if r.category == "usage"]
    assert usage == [
        ("triggered", "recall", dailybot.users[1].uuid),
        ("triggered", "remember", dailybot.users[0].uuid),
    ]


def test_history_answers_the_last_five_records_newest_first(dailybot: Dailybot) -> None:
    for number in range(6):
        dailybot.invoke(f"recall key{number}")

    lines = dailybot.invoke("history").message.splitlines()

    assert lines[0] == "Last 5 activity records:"
    # The history invocation's own usage record is the newest.
    assert lines[1].endswith("usage/triggered (history)")
    assert len(lines) == 6


def test_history_with_no_activity_when_recording_usage_fails(dailybot: Dailybot) -> None:
    # The usage record (a create: never repeated after a 5xx) fails; the command still answers.
    dailybot.fail("/v1/platform/activity/", 500)

    assert dailybot.invoke("history").message == "No activity recorded yet."
    activity = [(c.method, c.status) for c in dailybot.calls if c.path == "/v1/platform/activity/"]
    assert activity == [("POST", 500), ("GET", 200)]
