"""The handler's context facades, each against the fake platform."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import NotFound
from chalicelib.dailybot.models import MessageButton, OutgoingMessage
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.context import Context, PlatformSession
from chalicelib.runtime.intake.delivery import parse_delivery
from chalicelib.settings import DeliveryFields
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.deliveries import encode, invocation, sample
from tests.runtime.fake_platform import DELIVERED_TOKEN, FakePlatform


def context_for(runtime: Runtime, body: dict[str, object], namespace: str | None = None) -> Context:
    delivery = parse_delivery(encode(body), DeliveryFields(), max_bytes=1 << 20)
    broker = ExchangeTokenBroker(runtime.client, ttl_seconds=60)
    tokens = broker.session(
        delivery.organization_uuid, delivery.user_uuid, delivered=delivery.exchange_token
    )
    session = PlatformSession(runtime.client, tokens, Deadline.after(5))
    return Context(delivery, session, storage_namespace=namespace)


def test_the_context_describes_the_delivery(runtime: Runtime, platform: FakePlatform) -> None:
    ctx = context_for(runtime, invocation("remember", "  color   deep blue "))

    assert (ctx.kind, ctx.intent, ctx.text, ctx.words) == (
        "command", "remember", "color   deep blue", ("color", "deep", "blue"),
    )  # fmt: skip
    assert (ctx.user.uuid, ctx.user.full_name) == (
        "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "Jane Doe",
    )  # fmt: skip
    assert ctx.organization.uuid == "11111111-1111-4111-8111-111111111111"
    assert ctx.event is None
    assert ctx.scheduled is None
    assert ctx.sent_at.tzinfo is not None
    assert abs((datetime.now(UTC) - ctx.sent_at).total_seconds()) < 60
    ctx.storage.get("color")
    assert platform.calls[-1].token == DELIVERED_TOKEN
    assert DELIVERED_TOKEN not in repr(ctx)
    assert not hasattr(ctx, "delivery")
    assert not hasattr(ctx, "tokens")
    assert not hasattr(ctx, "deadline")


def test_event_and_scheduled_parts(runtime: Runtime) -> None:
    event = context_for(runtime, sample("event_kudos_posted"))
    scheduled = context_for(runtime, sample("scheduled_standup_reminder"))

    assert event.event is not None
    assert (event.event.name, event.event.hook) == ("kudos.posted", "7")
    assert event.user.uuid is None
    assert scheduled.scheduled is not None
    assert (scheduled.scheduled.uuid, scheduled.scheduled.name) == ("sched-1", "standup-reminder")


def test_schedules_events_and_messages(runtime: Runtime, platform: FakePlatform) -> None:
    ctx = context_for(runtime, invocation("x"))

    uuid = ctx.schedules.create("n", cron="0 9 * * *")
    assert ctx.schedules.get(uuid).cron == "0 9 * * *"
    assert ctx.schedules.update(uuid, cron="0 10 * * *").cron == "0 10 * * *"
    ctx.schedules.delete(uuid)
    assert platform.schedules == {}
    ctx.schedules.delete(uuid, missing_ok=True)
    with pytest.raises(NotFound):
        ctx.schedules.delete(uuid)
    assert ctx.events.subscribe(["kudos.posted"], subscribed_objects=["t"]) == "7"
    ctx.events.unsubscribe()
    assert platform.hooks == []
    ctx.messages.send(OutgoingMessage("hi", buttons=(MessageButton("a", "b"),)))
    assert platform.messages[0]["message"] == "hi"
    assert ctx.activity.recent() == []


def test_namespaced_storage_needs_no_token(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime()
    body = invocation("x")
    del body["exchange_token"]
    ctx = context_for(runtime, body, namespace="team")

    ctx.storage.set("a", 1)
    assert ctx.storage.get("a") == 1
    ctx.storage.delete("a")

    assert platform.storage["team"] == {}
    assert {c.token for c in platform.calls} == {None}
