"""A test kit for command authors: the `dailybot` pytest fixture.

    def test_remember_and_recall(dailybot):
        assert dailybot.invoke("remember color blue").message == "Got it: *color* is `blue`."

Behind the fixture run the deployment's real runtime and the real emulator, in this process
(`testkit.kit`); the pytest plugin (`testkit.plugin`) provides the fixture. Never deployed.

The names below are imported on first use: pytest loads the plugin (and so this package)
before a test session sets its environment and starts measuring coverage, and importing the
runtime then would fix its settings too early and hide its module lines from coverage.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testkit.kit import Dailybot, open_dailybot
    from testkit.records import Delivery, PlatformCall, Reply, Schedule, SentMessage
    from testkit.world import KitError, User

_HOMES = {
    "Dailybot": "testkit.kit",
    "open_dailybot": "testkit.kit",
    "Delivery": "testkit.records",
    "PlatformCall": "testkit.records",
    "Reply": "testkit.records",
    "Schedule": "testkit.records",
    "SentMessage": "testkit.records",
    "KitError": "testkit.world",
    "User": "testkit.world",
}

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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'testkit' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
