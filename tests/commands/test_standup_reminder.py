"""`standup-reminder`: a schedule created at run time, owned by the user who asked."""

from __future__ import annotations

from testkit import Dailybot


def reminders(dailybot: Dailybot) -> list[str | None]:
    return [s.cron for s in dailybot.schedules if s.name == "standup-reminder" and s.is_active]


def test_on_creates_an_owned_schedule_and_remembers_it(dailybot: Dailybot) -> None:
    reply = dailybot.invoke("standup-reminder on 0 9 * * 1-5")

    [schedule] = [s for s in dailybot.schedules if s.name == "standup-reminder"]
    assert schedule.cron == "0 9 * * 1-5"
    assert schedule.is_owned_by_user is True
    assert schedule.user_uuid == dailybot.user.uuid
    assert schedule.uuid in reply.message
    assert dict(dailybot.user_storage()) == {"standup-reminder": schedule.uuid}
    assert dict(dailybot.storage) == {}


def test_on_twice_replaces_the_schedule(dailybot: Dailybot) -> None:
    dailybot.invoke("standup-reminder on 0 9 * * 1-5")
    dailybot.invoke("standup-reminder on 30 9 * * *")

    assert reminders(dailybot) == ["30 9 * * *"]


def test_off_deletes_the_schedule(dailybot: Dailybot) -> None:
    dailybot.invoke("standup-reminder on 0 9 * * 1-5")

    assert dailybot.invoke("standup-reminder off").message == "Standup reminder off."
    assert reminders(dailybot) == []
    assert dict(dailybot.user_storage()) == {}
    assert dailybot.invoke("standup-reminder off").message == "You have no standup reminder on."


def test_bad_arguments_explain(dailybot: Dailybot) -> None:
    assert "Usage" in dailybot.invoke("standup-reminder on 9am").message


def test_the_reminder_fires_for_its_owner_only(dailybot: Dailybot) -> None:
    dailybot.invoke("standup-reminder on 0 9 * * *", user="John Roe")

    replies = [r.message for r in dailybot.advance(days=1) if "standup" in r.message]

    assert replies == [
        "Hi John Roe, it's time for standup! What did you do, what's next, anything blocking?"
    ]
    fired = [
        r for r in dailybot.activity if r.category == "schedule" and r.label == "standup-reminder"
    ]
    assert [r.user for r in fired] == [dailybot.users[1].uuid]
