"""Exchange tokens: opaque random strings bound to (organization, command, user) with a TTL.

Only a SHA-256 digest of each token is stored, so the database never holds a usable secret.
Expiry follows the emulator's clock (virtual or real).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.database import Database


@dataclass(frozen=True)
class TokenGrant:
    """Who a valid exchange token lets the caller act as."""

    organization_uuid: str
    command_uuid: str
    user_uuid: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ExchangeTokens:
    def __init__(self, database: Database, clock: Clock, ttl: float) -> None:
        self._database = database
        self._clock = clock
        self._ttl = ttl

    def issue(self, grant: TokenGrant) -> str:
        token = secrets.token_urlsafe(32)
        self._database.execute(
            "INSERT INTO tokens (digest, organization_uuid, command_uuid, user_uuid, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                _digest(token),
                grant.organization_uuid,
                grant.command_uuid,
                grant.user_uuid,
                self._clock.now() + self._ttl,
            ),
        )
        return token

    def resolve(self, token: str) -> TokenGrant | None:
        """The grant of a live token; ``None`` when unknown or expired."""
        row = self._database.one("SELECT * FROM tokens WHERE digest = ?", (_digest(token),))
        if row is None or float(row["expires_at"]) <= self._clock.now():
            return None
        return TokenGrant(row["organization_uuid"], row["command_uuid"], row["user_uuid"])
