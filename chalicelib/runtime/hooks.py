"""Hooks the intake runs for every verified delivery that will be handled.

Self-registration is one: a delivery proves the deployment is live and carries a token, so
it is the moment to make sure the platform holds the declared schedules and event hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chalicelib.dailybot.deadline import Deadline
    from chalicelib.dailybot.tokens import TokenSession


class VerifiedDeliveryHook(Protocol):
    """Called after signature, parsing, freshness and de-duplication, before dispatch.

    The deadline is a few seconds of the reply budget at most; exceptions are logged and
    counted by the intake, never shown to the user.
    """

    def __call__(
        self, *, organization_uuid: str | None, tokens: TokenSession, deadline: Deadline
    ) -> None: ...
