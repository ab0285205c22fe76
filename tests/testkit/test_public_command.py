"""A public command, tested as its author would: one deployment serving Acme (the owner's
organization) and Globex, each with its own storage, schedules and event hook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.runtime import Context
from chalicelib.runtime.registry import CommandRegistry
from testkit import Dailybot, open_dailybot
from testkit.deployment import Deployment
from testkit.world import DEFAULT_FIXTURES, load_kit_world

ACME = "11111111-1111-4111-8111-111111111111"
GLOBEX = "22222222-2222-4222-8222-222222222222"


def public_registry() -> CommandRegistry:
    registry = CommandRegistry()

    @registry.command("remember")
    def remember(ctx: Context) -> str:
        """Stores a value: remember KEY VALUE"""
        key, value = ctx.text.split(maxsplit=1)
        ctx.storage.set(key, value)
        return f"{key} is {value}"

    @registry.command("recall")
    def recall(ctx: Context) -> str:
        """Answers a stored value: recall KEY"""
        return str(ctx.storage.get(ctx.text))

    @registry.scheduled("hourly", cron="0 * * * *")
    def hourly(ctx: Context) -> str:
        runs = ctx.storage.get("hourly_runs")
        count = (runs if isinstance(runs, int) else 0) + 1
        ctx.storage.set("hourly_runs", count)
        return f"hourly in {ctx.organization.uuid}"

    @registry.scheduled("owners-digest", cron="0 9 * * *", owner_only=True)
    def owners_digest(ctx: Context) -> str:
        return f"owners' digest in {ctx.organization.uuid}"

    @registry.event("kudos.posted")
    def kudos(ctx: Context) -> None:
        ctx.storage.set("last_kudos_in", ctx.organization.uuid)

    return registry


@pytest.fixture
def public() -> Iterator[Dailybot]:
    registry = public_registry()
    deployment = Deployment.from_module("app").with_registry(registry)
    with open_dailybot(deployment, load_kit_world(DEFAULT_FIXTURES, registry.commands())) as kit:
        yield kit


def test_each_organization_has_its_own_storage(public: Dailybot) -> None:
    public.invoke("remember color red", user="Kim Lee")

    assert public.invoke("recall color", user="Kim Lee").message == "red"
    assert public.invoke("recall color", user="Jane Doe").message == "None"
    assert public.storage_for("Kim Lee")["color"] == "red"
    assert "color" not in public.storage_for("Jane Doe")


def test_after_kim_s_first_invocation_the_hourly_schedule_fires_in_both_organizations(
    public: Dailybot,
) -> None:
    # Before anyone in Globex used the command, only the owner's organization has it.
    assert {s.organization_uuid for s in public.schedules if s.name == "hourly"} == {ACME}

    public.invoke("recall nothing", user="Kim Lee")

    hourly = [s for s in public.schedules if s.name == "hourly"]
    assert sorted(s.organization_uuid for s in hourly) == sorted([ACME, GLOBEX])
    replies = [r.message for r in public.advance(hours=1)]
    assert sorted(m for m in replies if m.startswith("hourly")) == [
        f"hourly in {ACME}",
        f"hourly in {GLOBEX}",
    ]
    assert public.storage_for("Kim Lee")["hourly_runs"] == 1
    assert public.storage_for("Jane Doe")["hourly_runs"] == 1


def test_an_owner_only_schedule_stays_in_the_owner_s_organization(public: Dailybot) -> None:
    public.invoke("recall nothing", user="Kim Lee")

    owners = [s for s in public.schedules if s.name == "owners-digest"]
    assert [s.organization_uuid for s in owners] == [ACME]


def test_an_event_published_in_globex_reaches_a_handler_that_sees_globex(
    public: Dailybot,
) -> None:
    public.invoke("recall nothing", user="Kim Lee")  # Globex starts using the command

    assert public.fire_event("kudos.posted", {"kudos": {}}, organization=GLOBEX) == 1

    assert public.storage_for("Kim Lee")["last_kudos_in"] == GLOBEX
    assert "last_kudos_in" not in public.storage_for("Jane Doe")
