"""What a handler gets: who asked, what they typed, and the platform bound to this delivery.

`storage`, `activity`, `schedules`, `events` and `messages` are facades over one
`PlatformSession`: the client, the delivery's exchange token (fetched through the token
broker when the delivery has none, replaced once after a 401) and the handler's deadline,
bound once. Self-registration and `make sync` use the same facades.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, Unpack

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import NotFound
from chalicelib.dailybot.models import (
    ActivityEntry,
    ActivityRecord,
    JSONValue,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleOptions,
    ScheduleSpec,
)
from chalicelib.redaction import Secret
from chalicelib.runtime.intake.delivery import Delivery, DeliveryKind, EventCallback, ScheduledRun
from chalicelib.runtime.jobs.deferral import InvalidDeferral, JobCollector

T = TypeVar("T")


class TokenCaller(Protocol):
    """Runs a platform call with an exchange token (`TokenSession` is one)."""

    def call(self, fn: Callable[[Secret], T], *, deadline: Deadline | None = None) -> T: ...


class PlatformSession:
    """The client, an exchange-token session and a deadline, bound once for every call."""

    def __init__(
        self, client: DailybotClient, tokens: TokenCaller, deadline: Deadline | None
    ) -> None:
        self.client = client
        self._tokens = tokens
        self._deadline = deadline

    @property
    def deadline(self) -> Deadline | None:
        return self._deadline

    def __repr__(self) -> str:
        return f"PlatformSession({self.client!r})"

    def as_user(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`call(*args, exchange_token=..., deadline=..., **kwargs)` with the session's token."""
        return self._tokens.call(
            lambda token: call(*args, exchange_token=token, deadline=self._deadline, **kwargs),
            deadline=self._deadline,
        )

    def with_key(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`call(*args, deadline=..., **kwargs)`: a call the API key alone authorises."""
        return call(*args, deadline=self._deadline, **kwargs)

    def within(self, deadline: Deadline) -> PlatformSession:
        """The same session with another deadline."""
        return PlatformSession(self.client, self._tokens, deadline)


class Storage:
    """The command's key/value storage (`POST /v1/platform/storage/`).

    With a `namespace` the storage is the deployment's own (the API key is enough); without,
    it is the command's storage as the delivery's user sees it.
    """

    def __init__(self, session: PlatformSession, *, namespace: str | None = None) -> None:
        self._session = session
        self._namespace = namespace

    def get(self, key: str) -> JSONValue:
        """The stored value, or None when nothing is stored under `key`."""
        return self._run(self._session.client.storage_get, key)

    def set(self, key: str, value: JSONValue) -> None:
        self._run(self._session.client.storage_set, key, value)

    def delete(self, key: str) -> None:
        self._run(self._session.client.storage_delete, key)

    def _run(self, operation: Callable[..., T], *args: Any) -> T:
        if self._namespace:
            return self._session.with_key(operation, *args, namespace=self._namespace)
        return self._session.as_user(operation, *args)


class Activity:
    """The command's activity log."""

    def __init__(
        self, session: PlatformSession, *, before_read: Callable[[], object] | None = None
    ) -> None:
        self._session = session
        self._before_read = before_read

    def recent(self, limit: int | None = None) -> list[ActivityRecord]:
        """Records, newest first (at most `limit`)."""
        if self._before_read is not None:
            self._before_read()
        records = self._session.as_user(self._session.client.list_activity, limit=limit)
        newest_first = sorted(records, key=lambda record: record.created_at, reverse=True)
        return newest_first if limit is None else newest_first[:limit]

    def record(
        self,
        category: str,
        action: str,
        *,
        label: str | None = None,
        metadata: Mapping[str, JSONValue] | None = None,
        user_uuid: str | None = None,
    ) -> ActivityRecord:
        entry = ActivityEntry(
            category=category,
            action=action,
            label=label,
            metadata=dict(metadata or {}),
            user_uuid=user_uuid,
        )
        return self._session.as_user(self._session.client.create_activity, entry)


class Schedules:
    """Scheduled executions of the command."""

    def __init__(self, session: PlatformSession) -> None:
        self._session = session

    def create(self, name: str, **options: Unpack[ScheduleOptions]) -> str:
        """Creates the scheduled execution and answers its uuid (unset fields: the platform's
        defaults)."""
        spec = ScheduleSpec(name, **options)
        return self._session.as_user(self._session.client.create_schedule, spec)

    def get(self, uuid: str) -> ScheduledExecution:
        return self._session.as_user(self._session.client.get_schedule, uuid)

    def update(self, uuid: str, **changes: JSONValue) -> ScheduledExecution:
        """Changes the given fields (any of the platform's updatable ones) and answers the
        scheduled execution as it is now."""
        return self._session.as_user(self._session.client.update_schedule, uuid, changes)

    def delete(self, uuid: str, *, missing_ok: bool = False) -> None:
        """Deletes it; with `missing_ok`, one already gone counts as deleted."""
        try:
            self._session.as_user(self._session.client.delete_schedule, uuid)
        except NotFound:
            if not missing_ok:
                raise


class Events:
    """The command's event subscription (one hook per command)."""

    def __init__(self, session: PlatformSession) -> None:
        self._session = session

    def subscribe(
        self, events: Sequence[str], *, subscribed_objects: Sequence[str] | None = None
    ) -> str:
        """Registers the hook for `events`; answers the hook's uuid."""
        return self._session.as_user(
            self._session.client.register_event_subscription,
            events,
            subscribed_objects=subscribed_objects,
        )

    def unsubscribe(self) -> None:
        self._session.as_user(self._session.client.unregister_event_subscription)


class Messages:
    """Chat messages sent now through the platform (`POST /v1/send-message/`), as the
    delivery's user, to the users, teams or channels the message names."""

    def __init__(self, session: PlatformSession) -> None:
        self._session = session

    def send(self, message: OutgoingMessage) -> None:
        self._session.as_user(self._session.client.send_message, message)


def user_storage_namespace(prefix: str, user_uuid: str) -> str:
    """The storage namespace of one user's own storage (`Context.user_storage`)."""
    return f"{prefix}:user:{user_uuid}"


@dataclass(frozen=True)
class User:
    """The person the delivery is about (absent for event callbacks)."""

    uuid: str | None
    full_name: str | None


@dataclass(frozen=True)
class Organization:
    uuid: str


class Context:
    """Everything a handler needs about one delivery, and the platform to act on it."""

    def __init__(
        self,
        delivery: Delivery,
        session: PlatformSession,
        *,
        storage_namespace: str | None = None,
        user_namespace: str = "dailybot-runtime",
        jobs: JobCollector | None = None,
        before_activity_read: Callable[[], object] | None = None,
    ) -> None:
        """`before_activity_read` runs before the activity log is read: the runtime records
        a command's usage while its handler runs, and the handler must see that record."""
        self._delivery = delivery
        self._jobs = jobs
        self._user_storage = (
            None
            if delivery.user_uuid is None
            else Storage(
                session, namespace=user_storage_namespace(user_namespace, delivery.user_uuid)
            )
        )
        self.text: str = delivery.text
        self.words: tuple[str, ...] = tuple(delivery.text.split())
        self.user = User(delivery.user_uuid, delivery.user_full_name)
        self.organization = Organization(delivery.organization_uuid)
        self.sent_at: datetime = datetime.fromtimestamp(delivery.sent_at, tz=UTC)
        self.storage = Storage(session, namespace=storage_namespace)
        self.activity = Activity(session, before_read=before_activity_read)
        self.schedules = Schedules(session)
        self.events = Events(session)
        self.messages = Messages(session)

    def __repr__(self) -> str:
        return f"Context(kind={self.kind.value!r}, subject={self._delivery.subject!r})"

    def defer(self, job: Callable[..., object], /, **arguments: Any) -> str:
        """Queues `job(ctx, **arguments)` to run after this reply; its return value is sent as
        a follow-up message. `job` must be registered with `@job(name)` and the arguments
        JSON values; anything else raises `InvalidDeferral` here. Queued only if this run
        finishes successfully; answers the job's identity."""
        if self._jobs is None:
            raise InvalidDeferral("jobs cannot be deferred from here")
        return self._jobs.defer(job, arguments)

    @property
    def user_storage(self) -> Storage:
        """Storage of this user alone, apart from the command-wide `storage`: no key a user
        types into a command-wide key can reach it. Keep per-user state here."""
        if self._user_storage is None:
            raise LookupError("this delivery is about no user, so it has no user storage")
        return self._user_storage

    @property
    def kind(self) -> DeliveryKind:
        """What was delivered: a command, an event callback or a scheduled execution."""
        return self._delivery.kind

    @property
    def intent(self) -> str | None:
        return self._delivery.intent

    @property
    def event(self) -> EventCallback | None:
        return self._delivery.event

    @property
    def scheduled(self) -> ScheduledRun | None:
        return self._delivery.scheduled
