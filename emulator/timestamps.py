"""How the emulator writes instants on the wire: ISO 8601 in UTC with a ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def to_datetime(epoch: float) -> datetime:
    """An aware UTC datetime for a Unix timestamp."""
    return datetime.fromtimestamp(epoch, tz=UTC)


def iso_z(epoch: float) -> str:
    """``2026-02-25T12:00:00Z``, with microseconds only when the instant has them."""
    moment = to_datetime(epoch)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
