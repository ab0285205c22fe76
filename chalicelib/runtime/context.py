"""What a handler gets: who asked, what they typed, and the platform bound to this delivery.

`storage`, `activity`, `schedules` and `events` act with the delivery's exchange token (fetched
through the token broker when the delivery has none, replaced once after a 401) and finish by
the handler's deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.models import (
    ActivityEntry,
    ActivityRecord,
    JSONValue,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleSpec,
)
from chalicelib.dailybot.tokens import TokenSession
from chalicelib.redaction import Secret
from chalicelib.runtime.delivery import Delivery, DeliveryKind, EventCallback, ScheduledRun

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """The person the delivery is about (absent for event callbacks)."""

    uuid: str | None
    full_name: str | None


@dataclass(frozen=True)
class Organization:
    uuid: str


class _Bound:
    """A facade's link to the platform: client, token session and deadline of one delivery."""

    def __init__(self, client: DailybotClient, tokens: TokenSession, deadline: Deadline) -> None:
        self._client = client
        self._tokens = tokens
        self._deadline = deadline

    def _with_token(self, call: Callable[[Secret], T]) -> T:
        return self._tokens.call(call, deadline=self._deadline)


class Storage(_Bound):
    """The command's key/value storage (`POST /v1/platform/storage/`)."""

    def __init__(
        self,
        client: DailybotClient,
        tokens: TokenSession,
        deadline: Deadline,
        *,
        namespace: str | None = None,
    ) -> None:
        super().__init__(client, tokens, deadline)
        self._namespace = namespace

    def get(self, key: str) -> JSONValue:
        """The stored value, or None when nothing is stored under `key`."""
        if self._namespace:
            return self._client.storage_get(key, namespace=self._namespace, deadline=self._deadline)
        return self._with_token(
            lambda token: self._client.storage_get(
                key, exchange_token=token, deadline=self._deadline
            )
        )

    def set(self, key: str, value: JSONValue) -> None:
        if self._namespace:
            self._client.storage_set(key, value, namespace=self._namespace, deadline=self._deadline)
            return
        self._with_token(
            lambda token: self._client.storage_set(
                key, value, exchange_token=token, deadline=self._deadline
            )
        )

    def delete(self, key: str) -> None:
        if self._namespace:
            self._client.storage_delete(key, namespace=self._namespace, deadline=self._deadline)
            return
        self._with_token(
            lambda token: self._client.storage_delete(
                key, exchange_token=token, deadline=self._deadline
            )
        )


class Activity(_Bound):
    """The command's activity log."""

    def recent(self, limit: int | None = None) -> list[ActivityRecord]:
        """Records, newest first (at most `limit`)."""
        records = self._with_token(
            lambda token: self._client.list_activity(exchange_token=token, deadline=self._deadline)
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
        return self._with_token(
            lambda token: self._client.create_activity(
                entry, exchange_token=token, deadline=self._deadline
            )
        )


class Schedules(_Bound):
    """Scheduled executions of the command."""

    def create(self, spec: ScheduleSpec) -> str:
        """Creates the scheduled execution and answers its uuid."""
        return self._with_token(
            lambda token: self._client.create_schedule(
                spec, exchange_token=token, deadline=self._deadline
            )
        )

    def get(self, uuid: str) -> ScheduledExecution:
        return self._with_token(
            lambda token: self._client.get_schedule(
                uuid, exchange_token=token, deadline=self._deadline
            )
        )

    def update(self, uuid: str, changes: Mapping[str, JSONValue]) -> ScheduledExecution:
        return self._with_token(
            lambda token: self._client.update_schedule(
                uuid, changes, exchange_token=token, deadline=self._deadline
            )
        )

    def delete(self, uuid: str) -> None:
        self._with_token(
            lambda token: self._client.delete_schedule(
                uuid, exchange_token=token, deadline=self._deadline
            )
        )


class Events(_Bound):
    """The command's event subscription (one hook per command)."""

    def subscribe(
        self, events: Sequence[str], *, subscribed_objects: Sequence[str] | None = None
    ) -> str:
        """Registers the hook for `events`; answers the hook's uuid."""
        return self._with_token(
            lambda token: self._client.register_event_subscription(
                events,
                subscribed_objects=subscribed_objects,
                exchange_token=token,
                deadline=self._deadline,
            )
        )

    def unsubscribe(self) -> None:
        self._with_token(
            lambda token: self._client.unregister_event_subscription(
                exchange_token=token, deadline=self._deadline
            )
        )


class Messages(_Bound):
    """Follow-up chat messages, for work that outlives the reply window."""

    def send(self, message: OutgoingMessage) -> None:
        self._with_token(
            lambda token: self._client.send_message(
                message, exchange_token=token, deadline=self._deadline
            )
        )


@dataclass(frozen=True)
class DeliveryContext:
    """Everything a handler needs about one delivery."""

    delivery: Delivery
    user: User
    organization: Organization
    text: str
    words: tuple[str, ...]
    deadline: Deadline
    tokens: TokenSession
    storage: Storage
    activity: Activity
    schedules: Schedules
    events: Events
    messages: Messages

    @property
    def kind(self) -> DeliveryKind:
        return self.delivery.kind

    @property
    def intent(self) -> str | None:
        return self.delivery.intent

    @property
    def event(self) -> EventCallback | None:
        return self.delivery.event

    @property
    def scheduled(self) -> ScheduledRun | None:
        return self.delivery.scheduled

    @classmethod
    def build(
        cls,
        delivery: Delivery,
        *,
        client: DailybotClient,
        tokens: TokenSession,
        deadline: Deadline,
        storage_namespace: str | None = None,
    ) -> DeliveryContext:
        return cls(
            delivery=delivery,
            user=User(delivery.user_uuid, delivery.user_full_name),
            organization=Organization(delivery.organization_uuid),
            text=delivery.text,
            words=tuple(delivery.text.split()),
            deadline=deadline,
            tokens=tokens,
            storage=Storage(client, tokens, deadline, namespace=storage_namespace),
            activity=Activity(client, tokens, deadline),
            schedules=Schedules(client, tokens, deadline),
            events=Events(client, tokens, deadline),
            messages=Messages(client, tokens, deadline),
        )
