"""`report`: a deferred job whose follow-up reaches the user who asked."""

from __future__ import annotations

from testkit import Dailybot


def test_the_report_arrives_as_a_follow_up_to_whoever_asked(dailybot: Dailybot) -> None:
    dailybot.invoke("remember color blue")

    reply = dailybot.invoke("report monthly", user="John Roe")

    assert reply.message == "Building your report; I'll send it here when it's ready."
    [sent] = dailybot.messages
    assert sent.message.startswith("*Report for monthly*: 2 command use(s)")
    assert sent.target_users == (dailybot.users[1].uuid,)


def test_a_failing_job_is_retried_then_the_user_is_told(dailybot: Dailybot) -> None:
    # Every attempt's activity listing fails (three attempts, three client tries each).
    dailybot.fail("/v1/platform/activity/", 503, times=30)

    with dailybot.expecting_errors() as errors:
        dailybot.invoke("report weekly")

    [failure] = errors
    assert (failure.job, type(failure.error).__name__) == ("build-report", "ServerError")
    [told] = dailybot.messages
    assert told.message.startswith("Sorry, I couldn't finish the work")
    assert told.target_users == (dailybot.user.uuid,)
