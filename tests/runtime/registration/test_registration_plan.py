"""The pure planner: declarations and stored state in, steps out."""

from __future__ import annotations

import pytest

from chalicelib.dailybot.models import ScheduledExecution
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.plan import (
    DesiredRegistration,
    HookSubscription,
    Outcome,
    plan_registration,
)
from chalicelib.runtime.registration.state import (
    RegisteredHook,
    RegisteredSchedule,
    RegistrationState,
    StoredStateError,
)

DIGEST = ScheduleDeclaration(name="daily-digest", cron="0 9 * * 1-5")
WEEKLY = ScheduleDeclaration(name="weekly", cron="0 17 * * 5", payload={"scope": "team"})
KUDOS = EventDeclaration("kudos.posted")
URL = "https://runtime.example.com/dailybot"


def desired(*schedules: ScheduleDeclaration, events=(KUDOS,), url=URL) -> DesiredRegistration:
    return DesiredRegistration.from_declarations(schedules, events, url)


def registered_state(wanted: DesiredRegistration, uuids: dict[str, str]) -> RegistrationState:
    """The state a complete reconcile of `wanted` leaves behind."""
    schedules = {
        s.name: RegisteredSchedule(
            uuids[s.name], wanted.schedule_fingerprint(s), wanted.schedule_fields(s)
        )
        for s in wanted.schedules
    }
    hook = None
    if wanted.hook is not None:
        hook = RegisteredHook(
            "7", wanted.hook.events, wanted.hook.subscribed_objects, wanted.hook.fingerprint()
        )
    return RegistrationState(schedules, hook, wanted.fingerprint())


def outcomes(plan) -> dict[str, Outcome]:
    result = {step.name: step.outcome for step in plan.schedules}
    if plan.hook is not None:
        result["hook"] = plan.hook.outcome
    return result


def test_empty_state_creates_every_schedule_and_the_hook() -> None:
    plan = plan_registration(desired(DIGEST, WEEKLY), RegistrationState())

    assert outcomes(plan) == {
        "daily-digest": Outcome.CREATED,
        "weekly": Outcome.CREATED,
        "hook": Outcome.CREATED,
    }
    assert plan.writes
    assert plan.hook is not None
    assert plan.hook.subscription == HookSubscription(("kudos.posted",))


def test_matching_state_plans_nothing() -> None:
    wanted = desired(DIGEST, WEEKLY)
    state = registered_state(wanted, {"daily-digest": "u1", "weekly": "u2"})

    plan = plan_registration(wanted, state)

    assert set(outcomes(plan).values()) == {Outcome.UNCHANGED}
    assert not plan.writes
    assert plan.desired_fingerprint == state.desired_fingerprint


def test_a_changed_cron_is_a_put_of_only_that_field_on_the_same_uuid() -> None:
    state = registered_state(desired(DIGEST), {"daily-digest": "u1"})
    changed = ScheduleDeclaration(name="daily-digest", cron="30 8 * * 1-5")

    plan = plan_registration(desired(changed), state)

    (step,) = plan.schedules
    assert step.outcome is Outcome.UPDATED
    assert step.uuid == "u1"
    assert step.changes == {"cron": "30 8 * * 1-5"}
    assert not step.recreate


def test_a_new_public_url_updates_the_callback_url() -> None:
    state = registered_state(desired(DIGEST), {"daily-digest": "u1"})

    plan = plan_registration(desired(DIGEST, url="https://new.example.com/dailybot"), state)

    (step,) = plan.schedules
    assert step.outcome is Outcome.UPDATED
    assert step.changes == {"callback_url": "https://new.example.com/dailybot"}


def test_switching_from_frequency_to_cron_resets_the_frequency_to_the_platform_default() -> None:
    every_hour = ScheduleDeclaration(name="daily-digest", execution_frequency=60)
    state = registered_state(desired(every_hour), {"daily-digest": "u1"})

    (step,) = plan_registration(desired(DIGEST), state).schedules

    assert step.changes == {"cron": "0 9 * * 1-5", "execution_frequency": 0}


def test_changing_ownership_recreates_because_put_cannot_change_it() -> None:
    state = registered_state(desired(DIGEST), {"daily-digest": "u1"})
    owned = ScheduleDeclaration(name="daily-digest", cron="0 9 * * 1-5", is_owned_by_user=True)

    (step,) = plan_registration(desired(owned), state).schedules

    assert step.outcome is Outcome.UPDATED
    assert step.recreate
    assert step.uuid == "u1"


def test_an_undeclared_schedule_is_deleted_and_unknown_ones_are_never_mentioned() -> None:
    state = registered_state(desired(DIGEST, WEEKLY), {"daily-digest": "u1", "weekly": "u2"})

    plan = plan_registration(desired(DIGEST), state)

    assert outcomes(plan) == {
        "daily-digest": Outcome.UNCHANGED,
        "weekly": Outcome.DELETED,
        "hook": Outcome.UNCHANGED,
    }
    deleted = [step for step in plan.schedules if step.outcome is Outcome.DELETED]
    assert deleted[0].uuid == "u2"
    # A per-user schedule such as `standup-reminder` is not in the state, so not in the plan.
    assert "standup-reminder" not in outcomes(plan)


def test_a_schedule_the_platform_lost_is_created_again() -> None:
    state = registered_state(desired(DIGEST), {"daily-digest": "u1"})

    (step,) = plan_registration(desired(DIGEST), state, observed={"u1": None}).schedules

    assert step.outcome is Outcome.CREATED
    assert "404" in step.reason


def test_fields_changed_on_the_platform_are_put_back() -> None:
    wanted = desired(DIGEST)
    state = registered_state(wanted, {"daily-digest": "u1"})
    edited = ScheduledExecution(
        uuid="u1",
        name="daily-digest",
        timezone_type="organization_timezone",
        is_active=True,
        cron="0 12 * * *",
        execution_frequency=0,
        repeats=3,  # run counts are not drift
        payload={},
        callback_url=URL,
    )

    (step,) = plan_registration(wanted, state, observed={"u1": edited}).schedules

    assert step.outcome is Outcome.UPDATED
    assert step.changes == {"cron": "0 9 * * 1-5"}
    assert "changed on Dailybot" in step.reason


def test_without_a_public_url_the_platform_default_callback_is_not_drift() -> None:
    wanted = desired(DIGEST, url=None)
    state = registered_state(wanted, {"daily-digest": "u1"})
    seen = ScheduledExecution(
        uuid="u1",
        name="daily-digest",
        timezone_type="organization_timezone",
        is_active=True,
        cron="0 9 * * 1-5",
        execution_frequency=0,
        repeats=-1,
        payload={},
        callback_url="http://127.0.0.1:8000/dailybot",
    )

    (step,) = plan_registration(wanted, state, observed={"u1": seen}).schedules

    assert step.outcome is Outcome.UNCHANGED


def test_hook_is_reregistered_when_the_events_change_and_unregistered_when_none() -> None:
    state = registered_state(desired(DIGEST), {"daily-digest": "u1"})
    forms = EventDeclaration("FORMS_RESPONSE_CREATED")

    more = plan_registration(desired(DIGEST, events=(KUDOS, forms)), state)
    none = plan_registration(desired(DIGEST, events=()), state)

    assert more.hook is not None
    assert more.hook.outcome is Outcome.UPDATED
    assert more.hook.subscription is not None
    assert more.hook.subscription.events == ("forms.response.created", "kudos.posted")
    assert none.hook is not None
    assert none.hook.outcome is Outcome.DELETED
    assert plan_registration(desired(events=()), RegistrationState()).hook is None


def test_subscribed_objects_narrow_the_hook_only_when_every_event_narrows() -> None:
    narrow = EventDeclaration("kudos.posted", ("team-a",))
    narrower = EventDeclaration("forms.response.created", ("form-1", "team-a"))

    both = HookSubscription.union([narrow, narrower])
    mixed = HookSubscription.union([narrow, EventDeclaration("organization.user_activated")])

    assert both == HookSubscription(
        ("forms.response.created", "kudos.posted"), ("form-1", "team-a")
    )
    assert mixed is not None
    assert mixed.subscribed_objects == ()


def test_the_desired_fingerprint_follows_every_input() -> None:
    base = desired(DIGEST).fingerprint()

    assert desired(DIGEST).fingerprint() == base
    assert desired(DIGEST, url="https://other.example.com").fingerprint() != base
    assert desired(DIGEST, events=()).fingerprint() != base
    assert desired(DIGEST, WEEKLY).fingerprint() != base


def test_a_state_from_an_interrupted_reconcile_is_not_settled() -> None:
    wanted = desired(DIGEST)
    complete = registered_state(wanted, {"daily-digest": "u1"})
    interrupted = RegistrationState(complete.schedules, complete.hook, None)

    plan = plan_registration(wanted, interrupted)

    assert not plan.writes
    assert plan.desired_fingerprint != interrupted.desired_fingerprint


def test_a_schedule_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        desired(DIGEST, ScheduleDeclaration(name="daily-digest", execution_frequency=5))


def test_state_round_trips_through_json() -> None:
    state = registered_state(desired(DIGEST, WEEKLY), {"daily-digest": "u1", "weekly": "u2"})

    assert RegistrationState.from_json(state.to_json()) == state
    assert RegistrationState.from_json(None) == RegistrationState()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("registered", "not a JSON object"),
        ({"version": 99}, "version 99"),
        ({"version": 1, "schedules": []}, "schedules are not"),
        ({"version": 1, "schedules": {"x": {"fingerprint": "f"}}}, "has no uuid"),
        ({"version": 1, "schedules": {"x": "u1"}}, "schedule 'x' is not"),
        ({"version": 1, "hook": [1]}, "event hook is not"),
        ({"version": 1, "hook": {"uuid": 3}}, "has no fingerprint"),
    ],
)
def test_an_unreadable_state_is_an_error_not_an_empty_state(stored, message) -> None:
    # Reading garbage as "nothing registered" would create every schedule a second time.
    with pytest.raises(StoredStateError, match=message):
        RegistrationState.from_json(stored)
