"""Exchange tokens: a per-(organization, user) cache with single flight, and a per-delivery session.

A delivery usually brings its own exchange token; `TokenSession` uses that one first. Without
it (or once it expired) the session asks the `ExchangeTokenBroker`, which fetches a token
through the platform at most once per user at a time, keeps it for `ttl_seconds`, and lets a
session replace a token the platform rejected with a 401.

The cache is bounded: at most `max_entries` users (the least recently used goes first), and
an entry whose token has expired is dropped once it reaches the old end. A signed delivery
can name any user, so without a bound every distinct name would stay in memory for good.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import (
    AuthenticationFailed,
    DailybotError,
    DeadlineExceeded,
    ExchangeTokenUnavailable,
)
from chalicelib.dailybot.models import ExchangeTokenGrant
from chalicelib.redaction import Secret

T = TypeVar("T")
CacheKey = tuple[str, str]


class ExchangeTokenSource(Protocol):
    """What the broker needs of the client (`DailybotClient` is one)."""

    def fetch_exchange_token(
        self,
        user_uuid: str,
        *,
        include_user_context: bool = False,
        deadline: Deadline | None = None,
    ) -> ExchangeTokenGrant: ...


@dataclass
class _CachedToken:
    # Held while one caller fetches; the others wait on it instead of fetching too.
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: Secret | None = None
    expires_at: float = 0.0


DEFAULT_MAX_ENTRIES = 1024


class ExchangeTokenBroker:
    """Fetched exchange tokens, cached per (organization, user) for `ttl_seconds`.

    At most `max_entries` users are kept, in least-recently-used order.
    """

    def __init__(
        self,
        client: ExchangeTokenSource,
        *,
        ttl_seconds: float,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[Secret], None] | None = None,
        on_refusal: Callable[[str, str, DailybotError], None] | None = None,
    ) -> None:
        """`on_fetch` sees every token fetched (the runtime scrubs it from logs from then on);
        `on_refusal` hears of every fetch the platform refused, with the organization and
        user (the runtime marks an organization it can no longer act in)."""
        self._client = client
        self._on_fetch = on_fetch
        self._on_refusal = on_refusal
        self._ttl = ttl_seconds
        self._max_entries = max(0, max_entries)
        self._clock = clock
        # Oldest use first; `_entry` moves a key to the end each time it is asked for.
        self._entries: OrderedDict[CacheKey, _CachedToken] = OrderedDict()
        self._entries_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ExchangeTokenBroker(ttl_seconds={self._ttl!r}, max_entries={self._max_entries!r},"
            f" cached={len(self._entries)})"
        )

    @property
    def cached_users(self) -> int:
        """How many (organization, user) entries the cache holds now."""
        with self._entries_lock:
            return len(self._entries)

    def token_for(
        self, organization_uuid: str, user_uuid: str, *, deadline: Deadline | None = None
    ) -> Secret:
        """A token for the user: the cached one while fresh, else one fetched now (once)."""
        entry = self._entry((organization_uuid, user_uuid))
        token = self._fresh(entry)
        if token is not None:
            return token
        if not _acquire(entry.lock, deadline):
            raise DeadlineExceeded("no time left while waiting for an exchange token fetch")
        try:
            # Another caller may have fetched it while this one waited for the lock.
            token = self._fresh(entry)
            if token is not None:
                return token
            # Counted from before the fetch, so the cache never outlives the token.
            fetched_at = self._clock()
            try:
                grant = self._client.fetch_exchange_token(user_uuid, deadline=deadline)
            except DailybotError as refused:
                if self._on_refusal is not None:
                    self._on_refusal(organization_uuid, user_uuid, refused)
                raise
            if self._on_fetch is not None:
                self._on_fetch(grant.token)
            entry.token = grant.token
            entry.expires_at = fetched_at + self._ttl
            return grant.token
        finally:
            entry.lock.release()

    def invalidate(
        self, organization_uuid: str, user_uuid: str, *, token: Secret | None = None
    ) -> None:
        """Forgets the user's cached token (only if it is still `token`, when one is given).

        Passing the rejected token keeps concurrent sessions that all saw the same 401 from
        throwing away the fresh token the first of them already fetched.
        """
        with self._entries_lock:
            entry = self._entries.get((organization_uuid, user_uuid))
            if entry is not None and (token is None or entry.token == token):
                entry.token = None
                entry.expires_at = 0.0

    def session(
        self, organization_uuid: str | None, user_uuid: str | None, *, delivered: Secret | None
    ) -> TokenSession:
        """The tokens of one delivery: `delivered` first, then the broker's for the user."""
        return TokenSession(self, organization_uuid, user_uuid, delivered=delivered)

    def _entry(self, key: CacheKey) -> _CachedToken:
        with self._entries_lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
            self._drop_expired()
            entry = self._entries[key] = _CachedToken()
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
            # An entry evicted at once (a cache of size 0) still serves this one caller.
            return entry

    def _drop_expired(self) -> None:
        """Drops entries without a fresh token from the least recently used end.

        An entry being fetched into is kept; one evicted anyway (over the size bound) just
        stops being shared: its fetching caller, and those waiting on its lock, still get
        the token.
        """
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.lock.locked() or (oldest.token is not None and now < oldest.expires_at):
                return
            self._entries.popitem(last=False)

    def _fresh(self, entry: _CachedToken) -> Secret | None:
        with self._entries_lock:
            if entry.token is not None and self._clock() < entry.expires_at:
                return entry.token
            return None


class TokenSession:
    """The exchange token of one delivery, replaced once if the platform rejects it."""

    def __init__(
        self,
        broker: ExchangeTokenBroker,
        organization_uuid: str | None,
        user_uuid: str | None,
        *,
        delivered: Secret | None,
    ) -> None:
        self._broker = broker
        self._organization_uuid = organization_uuid or ""
        self._user_uuid = user_uuid
        self._current = delivered or None

    def __repr__(self) -> str:
        return f"TokenSession(user_uuid={self._user_uuid!r}, has_token={self._current is not None})"

    @property
    def user_uuid(self) -> str | None:
        return self._user_uuid

    def token(self, deadline: Deadline | None = None) -> Secret:
        """The token to send: the delivered one, else the broker's for the delivery's user."""
        if self._current is None:
            self._current = self._broker.token_for(
                self._organization_uuid, self._require_user(), deadline=deadline
            )
        return self._current

    def call(self, fn: Callable[[Secret], T], *, deadline: Deadline | None = None) -> T:
        """`fn(token)`; after a 401 for the token, `fn` once more with a freshly fetched one."""
        token = self.token(deadline)
        try:
            return fn(token)
        except AuthenticationFailed:
            if self._user_uuid is None:
                raise
            self._broker.invalidate(self._organization_uuid, self._user_uuid, token=token)
            self._current = None
            fresh = self.token(deadline)
        return fn(fresh)

    def _require_user(self) -> str:
        if self._user_uuid is None:
            raise ExchangeTokenUnavailable(
                "the delivery carries no exchange token and no user to fetch one for"
            )
        return self._user_uuid


def _acquire(lock: threading.Lock, deadline: Deadline | None) -> bool:
    if deadline is None:
        return lock.acquire()
    left = deadline.remaining()
    return lock.acquire(timeout=-1 if math.isinf(left) else left)
