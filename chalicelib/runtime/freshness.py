"""The freshness window: a delivery too old (or too far in the future) is refused.

The signature is static, so a captured delivery could be replayed for ever; de-duplication
remembers deliveries for a window only, and this check refuses anything older than
`max_age` seconds. Timestamps more than `max_age` seconds in the *future* are refused too:
they would stay "fresh" past the de-duplication window and so be replayable. `max_age = 0`
turns the check off (e.g. for an emulator on a virtual clock).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from chalicelib.dailybot.models import JSONValue


def parse_instant(value: JSONValue) -> float | None:
    """Unix seconds of an ISO 8601 string (naive means UTC) or a Unix number; None if neither."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value) if _looks_numeric(value) else _iso_seconds(value)
        else:
            return None
    except (ValueError, OverflowError):  # not a date, or an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _looks_numeric(text: str) -> bool:
    return text.strip().replace(".", "", 1).isdigit()


def _iso_seconds(text: str) -> float:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def freshness_problem(sent_at: float, now: float, max_age: float) -> str | None:
    """Why a delivery sent at `sent_at` is not fresh at `now`, or None when it is."""
    if max_age <= 0:
        return None
    if now - sent_at > max_age:
        return "stale"
    if sent_at - now > max_age:
        return "future"
    return None
