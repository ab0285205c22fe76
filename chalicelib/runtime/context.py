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

from chalicelib.dailybot.call_options import CallLabels, CallOptions
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
from chalicelib.runtime.deferring import Deferrer, InvalidDeferral
from chalicelib.runtime.intake.delivery import Delivery, DeliveryKind, EventCallback, ScheduledRun

T = TypeVar("T")


class TokenCaller(Protocol):
    """Runs a platform call with an exchange token (`TokenSession` is one)."""

    def call(self, fn: Callable[[Secret], T], *, deadline: Deadline | None = None) -> T: ...


PlatformCall = Callable[[CallOptions], T]
"""One client call, given the options (token, deadline, labels) the session holds."""


class PlatformSession:
    """The client, an exchange-token session, a deadline and the calls' labels, bound once."""

    def __init__(
        self,
        client: DailybotClient,
        tokens: TokenCaller,
        deadline: Deadline | None,
        labels: CallLabels | None = None,
    ) -> None:
        self.client = client
        self._tokens = tokens
        self._deadline = deadline
        self._labels = labels

    @property
    def deadline(self) -> Deadline | None:
        return self._deadline

    def __repr__(self) -> str:
        return f"PlatformSession({self.client!r})"

    def as_user(self, call: PlatformCall[T]) -> T:
        """`call` with the session's exchange token (replaced once after a 401)."""
        return self._tokens.call(lambda token: call(self._options(token)), deadline=self._deadline)

    def with_key(self, call: PlatformCall[T]) -> T:
        """`call` without a token: one the API key alone authorises."""
        return call(self._options(None))

    def within(self, deadline: Deadline) -> PlatformSession:
        """The same session with another deadline."""
        return PlatformSession(self.client, self._tokens, deadline, self._labels)

    def _options(self, token: Secret | None) -> CallOptions:
        return {"exchange_token": token, "deadline": self._deadline, "labels": self._labels}


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
        client, namespace = self._session.client, self._namespace
        return self._run(lambda options: client.storage_get(key, namespace=namespace, **options))

    def set(self, key: str, value: JSONValue) -> None:
        client, namespace = self._session.client, self._namespace
        self._run(lambda options: client.storage_set(key, value, namespace=namespace, **options))

    def delete(self, key: str) -> None:
        client, namespace = self._session.client, self._namespace
        self._run(lambda options: client.storage_delete(key, namespace=namespace, **options))

    def _run(self, call: PlatformCall[T]) -> T:
        # A namespace is the deployment's own storage: the API key is enough.
        return self._session.with_key(call) if self._namespace else self._session.as_user(call)


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
        client = self._session.client
        records = self._session.as_user(
            lambda options: client.list_activity(limit=limit, **options)
        )
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
        client = self._session.client
        return self._session.as_user(lambda options: client.create_activity(entry, **options))


class Schedules:
    """Scheduled executions of the command."""

    def __init__(self, session: PlatformSession) -> None:
        self._session = session

    def create(self, name: str, **options: Unpack[ScheduleOptions]) -> str:
        """Creates the scheduled execution and answers its uuid (unset fields: the platform's
        defaults)."""
        return self.create_spec(ScheduleSpec(name, **options))

    def create_spec(self, spec: ScheduleSpec) -> str:
        """`create` for a whole spec in hand (self-registration's declarations)."""
        client = self._session.client
        return self._session.as_user(lambda call: client.create_schedule(spec, **call))

    def get(self, uuid: str) -> ScheduledExecution:
        client = self._session.client
        return self._session.as_user(lambda options: client.get_schedule(uuid, **options))

    def update(self, uuid: str, **changes: JSONValue) -> ScheduledExecution:
        """Changes the given fields (any of the platform's updatable ones) and answers the
        scheduled execution as it is now."""
        client = self._session.client
        return self._session.as_user(
            lambda options: client.update_schedule(uuid, changes, **options)
        )

    def delete(self, uuid: str, *, missing_ok: bool = False) -> None:
        """Deletes it; with `missing_ok`, one already gone counts as deleted."""
        try:
            client = self._session.client
            self._session.as_user(lambda options: client.delete_schedule(uuid, **options))
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
        client = self._session.client
        return self._session.as_user(
            lambda options: client.register_event_subscription(
                events, subscribed_objects=subscribed_objects, **options
            )
        )

    def unsubscribe(self) -> None:
        client = self._session.client
        self._session.as_user(lambda options: client.unregister_event_subscription(**options))


class Messages:
    """Chat messages sent now through the platform (`POST /v1/send-message/`), as the
    delivery's user, to the users, teams or channels the message names."""

    def __init__(self, session: PlatformSession) -> None:
        self._session = session

    def send(self, message: OutgoingMessage) -> None:
        client = self._session.client
        self._session.as_user(lambda options: client.send_message(message, **options))


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
    """Everything a handler needs about one delivery, and the platform to act on it.

    A job's context is its delivery's: the same kind, text, user, organization, event or
    scheduled execution, with `job` naming the job that runs.
    """

    def __init__(
        self,
        delivery: Delivery,
        session: PlatformSession,
        *,
        storage_namespace: str | None = None,
        user_namespace: str = "dailybot-runtime",
        deferrer: Deferrer | None = None,
        before_activity_read: Callable[[], object] | None = None,
        job: str | None = None,
    ) -> None:
        """`before_activity_read` runs before the activity log is read: the runtime records
        a command's usage while its handler runs, and the handler must see that record."""
        self._delivery = delivery
        self._deferrer = deferrer
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
        self.job: str | None = job
        self.storage = Storage(session, namespace=storage_namespace)
        self.activity = Activity(session, before_read=before_activity_read)
        self.schedules = Schedules(session)
        self.events = Events(session)
        self.messages = Messages(session)

    def __repr__(self) -> str:
        job = "" if self.job is None else f", job={self.job!r}"
        return f"Context(kind={self.kind.value!r}, subject={self._delivery.subject!r}{job})"

    def defer(self, job: Callable[..., object], /, **arguments: Any) -> str:
        """Queues `job(ctx, **arguments)` to run after this reply; its return value is sent as
        a follow-up message. `job` must be registered with `@job(name)` and the arguments
        JSON values; anything else raises `InvalidDeferral` here. Queued only if this run
        finishes successfully; answers the job's identity."""
        if self._deferrer is None:
            raise InvalidDeferral("jobs cannot be deferred from here")
        return self._deferrer.defer(job, arguments)

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

    @property
    def command_uuid(self) -> str | None:
        """The command Dailybot delivered for (when the delivery names it)."""
        return self._delivery.command_uuid

    @property
    def user_context(self) -> Mapping[str, JSONValue] | None:
        """The user details Dailybot sent with the delivery, when it sent any."""
        return self._delivery.user_context

    @property
    def channel(self) -> str | None:
        """The channel the command was typed in (None in a direct message)."""
        return self._delivery.target_channel
