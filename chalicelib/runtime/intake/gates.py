"""The gates a delivery passes before it is parsed and after: its signature, then its freshness.

The signature is the static `X-DailyBot-Signature`, a fixed per-command secret rather than an
HMAC of the body, compared in constant time. Several may be accepted at once so a signature
can be rotated without downtime, and so one deployment can serve several commands; every
accepted value is compared, so the time taken does not say which one (or how much of one)
matched. A signature configured with its command (`command_uuid:signature`) proves only that
the sender holds that command's secret, so the delivery must name that command: once the body
is parsed, `SignatureMatch.covers` says whether it does.

Because the signature is static, a captured delivery could be replayed for ever:
de-duplication remembers deliveries for a window only, and the freshness gate refuses anything
older than `max_age` seconds. Timestamps more than `max_age` seconds in the *future* are
refused too: they would stay "fresh" past the de-duplication window and so be replayable.
`max_age = 0` turns the check off (e.g. for an emulator on a virtual clock).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from chalicelib.settings import AcceptedSignature

SIGNATURE_HEADER: Final = "x-dailybot-signature"


@dataclass(frozen=True)
class SignatureMatch:
    """The commands the presented signature may act for; `None` when it is not bound to any."""

    commands: frozenset[str] | None

    def covers(self, command_uuid: str | None) -> bool:
        """Whether a delivery naming `command_uuid` may be acted on with this signature."""
        if self.commands is None:
            return True
        if command_uuid is None:
            return False
        try:
            return str(uuid.UUID(command_uuid)) in self.commands
        except ValueError:
            return False


def matching_signature(
    headers: Mapping[str, str], accepted: Sequence[AcceptedSignature]
) -> SignatureMatch | None:
    """What the (lower-cased) headers' signature admits, or None when it is not accepted.

    The same value may be listed for several commands; a plain entry admits every command.
    """
    given = headers.get(SIGNATURE_HEADER, "").encode("utf-8")
    # Every value is compared (no short circuit), and only then are the hits looked at.
    hits = [hmac.compare_digest(given, each.value.reveal().encode("utf-8")) for each in accepted]
    if not given or not any(hits):
        return None
    commands = [each.command_uuid for each, hit in zip(accepted, hits, strict=True) if hit]
    if None in commands:
        return SignatureMatch(None)
    return SignatureMatch(frozenset(command for command in commands if command is not None))


def freshness_problem(sent_at: float, now: float, max_age: float) -> str | None:
    """Why a delivery sent at `sent_at` is not fresh at `now` ("stale", "future"), or None."""
    if max_age <= 0:
        return None
    if now - sent_at > max_age:
        return "stale"
    if sent_at - now > max_age:
        return "future"
    return None
