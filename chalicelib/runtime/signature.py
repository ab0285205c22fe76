"""The first gate of the intake: the static `X-DailyBot-Signature`, compared in constant time.

The signature is a fixed per-command secret, not an HMAC of the body. Several may be accepted
at once so a signature can be rotated without downtime. Every accepted value is compared, so
the time taken does not say which one (or how much of one) matched.
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
