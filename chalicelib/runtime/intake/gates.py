"""The gates a delivery passes before it is parsed and after: its signature, then its freshness.

The signature is the static `X-DailyBot-Signature`, a fixed per-command secret rather than an
HMAC of the body, compared in constant time. Several may be accepted at once so a signature
can be rotated without downtime; every accepted value is compared, so the time taken does not
say which one (or how much of one) matched.

Because the signature is static, a captured delivery could be replayed for ever:
de-duplication remembers deliveries for a window only, and the freshness gate refuses anything
older than `max_age` seconds. Timestamps more than `max_age` seconds in the *future* are
refused too: they would stay "fresh" past the de-duplication window and so be replayable.
`max_age = 0` turns the check off (e.g. for an emulator on a virtual clock).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Final

from chalicelib.redaction import Secret

SIGNATURE_HEADER: Final = "x-dailybot-signature"


def signature_accepted(headers: Mapping[str, str], accepted: Sequence[Secret]) -> bool:
    """True when the (lower-cased) headers carry one of the accepted signatures."""
    given = headers.get(SIGNATURE_HEADER, "").encode("utf-8")
    matches = [hmac.compare_digest(given, secret.reveal().encode("utf-8")) for secret in accepted]
    return bool(given) and any(matches)


def freshness_problem(sent_at: float, now: float, max_age: float) -> str | None:
    """Why a delivery sent at `sent_at` is not fresh at `now` ("stale", "future"), or None."""
    if max_age <= 0:
        return None
    if now - sent_at > max_age:
        return "stale"
    if sent_at - now > max_age:
        return "future"
    return None
