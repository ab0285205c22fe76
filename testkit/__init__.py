"""A test kit for command authors: the `dailybot` pytest fixture.

    def test_remember_and_recall(dailybot):
        assert dailybot.invoke("remember color blue").message == "Got it: *color* is `blue`."

Behind the fixture run the deployment's real runtime and the real emulator, in this process
(`testkit.kit`); the pytest plugin (`testkit.plugin`) provides the fixture. Never deployed.
"""

from testkit.kit import Dailybot, open_dailybot
from testkit.records import Delivery, PlatformCall, Reply, Schedule, SentMessage
from testkit.world import KitError, User

__all__ = [
    "Dailybot",
    "Delivery",
    "KitError",
    "PlatformCall",
    "Reply",
    "Schedule",
    "SentMessage",
    "User",
    "open_dailybot",
]
