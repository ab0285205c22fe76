"""Self-registration: makes Dailybot hold the schedules and the event hook the code declares.

`Reconciler.reconcile()` reads what this runtime registered in one organization (one storage
key per organization in its own namespace, `state`), plans the difference with what the
registry declares (`plan`), and applies it through the same facades a handler uses
(`Schedules`, `Events`, namespaced `Storage`) under a lock shared by every container
(`idempotency.lock`).

Two ways in, with different costs:

- the per-delivery check (`cold_start.OrganizationReconciler`): on an organization's first
  verified delivery to a container (then at most once per `reconcile_period_seconds` per
  organization) it compares fingerprints only. When nothing changed that is exactly one
  storage read and no write, and no lock. It
  cannot notice a schedule deleted on Dailybot behind the runtime's back: that would take a
  GET per schedule on every cold start.
- `make sync` (`sync`), or `reconcile(..., verify=True)`: also GETs every registered
  schedule, recreates the ones that answer 404 and puts back fields changed on Dailybot. That
  costs one GET per declared schedule.

The platform has no list endpoint, so the stored state is the only record of what exists. A
created schedule is written to it before the next platform write, so an interrupted reconcile
loses at most the one schedule whose create timed out without an answer.

A declaration the platform refuses (a 400) fails alone: the other steps are applied, the
refusal is logged and recorded as an `error`/`registration_failed` activity naming the
handler, the result lists it in `refused`, and the stored fingerprint stays unset so the next
reconcile tries it again. Any other failure (the platform down, a timeout) stops the reconcile
as before; what was applied is already recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from chalicelib.dailybot.errors import BadRequest, DailybotError, NotFound
from chalicelib.dailybot.models import ScheduledExecution
from chalicelib.observability import logger
from chalicelib.runtime.context import Activity, Events, PlatformSession, Schedules, Storage
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.idempotency.lock import ReconcileLock
from chalicelib.runtime.registration.plan import (
    DesiredRegistration,
    HookStep,
    Observed,
    Outcome,
    RegistrationPlan,
    ScheduleStep,
    plan_registration,
)
from chalicelib.runtime.registration.state import (
    RegisteredHook,
    RegisteredSchedule,
    RegistrationState,
)

STATE_KEY: Final = "registration"


class DeclarationSource(Protocol):
    """Where the declarations come from (`CommandRegistry` is one)."""

    def declared_schedules(self) -> list[ScheduleDeclaration]: ...

    def declared_events(self) -> list[EventDeclaration]: ...


def desired_registration(
    source: DeclarationSource, callback_url: str | None, *, owner: bool = True
) -> DesiredRegistration:
    """What `source` declares for one organization (`owner`: the owner's, which also gets the
    owner-only declarations), calling back to the deployment's public URL when it is known."""
    return DesiredRegistration.from_declarations(
        [d for d in source.declared_schedules() if owner or not d.owner_only],
        [d for d in source.declared_events() if owner or not d.owner_only],
        callback_url,
    )


def organization_state_key(organization_uuid: str) -> str:
    """Where one organization's registration state is kept in the deployment's namespace."""
    return f"{STATE_KEY}:{organization_uuid}"


class ReconcileStatus(StrEnum):
    APPLIED = "applied"
    UP_TO_DATE = "up to date"
    DRY_RUN = "dry run"
    BUSY = "skipped: another reconcile holds the lock"


@dataclass(frozen=True)
class Refusal:
    """A declaration the platform refused while the rest were applied, and who declared it."""

    kind: str  # "schedule" or "event hook"
    name: str  # the schedule's name, or the hook's events
    handlers: tuple[str, ...]
    reason: str

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.name}"

    def describe(self) -> str:
        """One line naming the declaration, its handler(s) and the platform's answer."""
        by = ", ".join(self.handlers) or "no handler (no longer declared)"
        return f"the platform refused {self.subject} declared by {by}: {self.reason}"


@dataclass(frozen=True)
class ReconcileResult:
    """The plan and what became of it; `uuids` are the schedules' uuids afterwards, by name.
    `refused` are the declarations the platform refused (each failed alone)."""

    status: ReconcileStatus
    plan: RegistrationPlan
    uuids: Mapping[str, str] = field(default_factory=dict)
    hook_uuid: str | None = None
    refused: tuple[Refusal, ...] = ()

    @property
    def done(self) -> bool:
        """The platform matches the declarations (nothing left for a later reconcile)."""
        applied = self.status in (ReconcileStatus.APPLIED, ReconcileStatus.UP_TO_DATE)
        return applied and not self.refused


class _Platform:
    """The facades one reconcile uses, over one session."""

    def __init__(self, session: PlatformSession, namespace: str, state_key: str) -> None:
        self.state = Storage(session, namespace=namespace)
        self.schedules = Schedules(session)
        self.events = Events(session)
        self.activity = Activity(session)
        self._state_key = state_key

    def read_state(self) -> RegistrationState:
        return RegistrationState.from_json(self.state.get(self._state_key))

    def write_state(self, state: RegistrationState) -> None:
        self.state.set(self._state_key, state.to_json())


class Reconciler:
    """Reads, plans and applies self-registration for one registration namespace."""

    def __init__(
        self,
        *,
        namespace: str,
        lock: ReconcileLock | None = None,
        state_key: str = STATE_KEY,
        adopts: str | None = None,
    ) -> None:
        self._namespace = namespace
        self._lock = lock
        self._state_key = state_key
        # A key whose state is taken over when `state_key` holds none: what a deployment from
        # before per-organization state kept (one key for whichever organization it served).
        self._adopts = adopts

    def __repr__(self) -> str:
        return f"Reconciler(namespace={self._namespace!r}, state_key={self._state_key!r})"

    @property
    def lock_name(self) -> str:
        # Named after the stored state it protects, not the declarations: two deployed
        # versions (during a rollout) write the same key and must take turns too.
        return f"reconcile:{self._namespace}:{self._state_key}"

    def read_state(self, session: PlatformSession) -> RegistrationState:
        """The stored state. Namespaced storage needs only the API key: no token is fetched."""
        return self._platform(session).read_state()

    def reconcile(
        self,
        desired: DesiredRegistration,
        session: PlatformSession,
        *,
        verify: bool = False,
        dry_run: bool = False,
    ) -> ReconcileResult:
        """Makes the platform match `desired` (or only plans it, with `dry_run`)."""
        platform = self._platform(session)
        state, adopted = self._read(platform)
        # An adopted state may name schedules another organization holds: each is looked up.
        observed = _observe(state, desired, platform.schedules) if verify or adopted else {}
        plan = plan_registration(desired, state, observed)
        if _settled(plan, state) and not adopted:
            return _result(ReconcileStatus.UP_TO_DATE, plan, state)
        if dry_run:
            return _result(ReconcileStatus.DRY_RUN, plan, state)
        if self._lock is None:
            return _apply(platform, desired, plan, state, adopted=adopted)
        if not self._lock.acquire(self.lock_name):
            return _result(ReconcileStatus.BUSY, plan, state)
        try:
            # Another container may have finished the same work between our read and the lock.
            fresh, fresh_adopted = self._read(platform)
            if (fresh, fresh_adopted) != (state, adopted):
                state, adopted = fresh, fresh_adopted
                if adopted:
                    observed = _observe(state, desired, platform.schedules)
                plan = plan_registration(desired, state, _still_registered(observed, state))
                if _settled(plan, state) and not adopted:
                    return _result(ReconcileStatus.UP_TO_DATE, plan, state)
            return _apply(platform, desired, plan, state, adopted=adopted)
        finally:
            self._release()

    def _read(self, platform: _Platform) -> tuple[RegistrationState, bool]:
        """The stored state, and whether it was adopted from the older key."""
        state = platform.read_state()
        if self._adopts is None or state != RegistrationState():
            return state, False
        older = RegistrationState.from_json(platform.state.get(self._adopts))
        return (older, True) if older != RegistrationState() else (state, False)

    def _platform(self, session: PlatformSession) -> _Platform:
        return _Platform(session, self._namespace, self._state_key)

    def _release(self) -> None:
        assert self._lock is not None
        try:
            self._lock.release(self.lock_name)
        except Exception:
            # The lock expires on its own; the work it guarded is already done or failed.
            logger.warning("could not release the reconcile lock", exc_info=True)


def _observe(
    state: RegistrationState, desired: DesiredRegistration, schedules: Schedules
) -> dict[str, ScheduledExecution | None]:
    observed: dict[str, ScheduledExecution | None] = {}
    for declaration in desired.schedules:
        registered = state.schedules.get(declaration.name)
        if registered is None:
            continue
        try:
            observed[registered.uuid] = schedules.get(registered.uuid)
        except NotFound:
            observed[registered.uuid] = None
    return observed


def _apply(
    platform: _Platform,
    desired: DesiredRegistration,
    plan: RegistrationPlan,
    state: RegistrationState,
    *,
    adopted: bool = False,
) -> ReconcileResult:
    # An adopted state is not under this reconcile's key yet: it is written there in the end.
    run = _PlanRun(platform, desired, state, stored=RegistrationState() if adopted else state)
    writes = [step.outcome is not Outcome.UNCHANGED for step in plan.schedules]
    hook_writes = plan.hook is not None and plan.hook.outcome is not Outcome.UNCHANGED
    for index, step in enumerate(plan.schedules):
        if run.schedule(step) and (any(writes[index + 1 :]) or hook_writes):
            # Recorded before the next write: if that one fails, this uuid is not lost.
            run.save(desired_fingerprint=None)
    if plan.hook is not None:
        run.hook(plan.hook)
    # With a refusal the declarations are not all on the platform: the next reconcile plans
    # again (and tries the refused one again) instead of trusting the fingerprint.
    settled = None if run.refused else plan.desired_fingerprint
    final = run.save(desired_fingerprint=settled, only_if_changed=True)
    for refusal in run.refused:
        _report(platform, refusal)
    return _result(ReconcileStatus.APPLIED, plan, final, tuple(run.refused))


def _report(platform: _Platform, refusal: Refusal) -> None:
    """Where the author looks: the log (the `make run` console shows it) and an `error`
    activity record naming the handler (the playground's state shows it)."""
    logger.error(
        f"self-registration: {refusal.describe()}",
        extra={"declaration": refusal.subject, "handlers": list(refusal.handlers)},
    )
    try:
        platform.activity.record(
            "error",
            "registration_failed",
            label=", ".join(refusal.handlers) or refusal.subject,
            metadata={"declaration": refusal.subject, "error": refusal.reason},
        )
    except DailybotError:
        logger.warning("could not record the refused declaration in the activity log")


class _PlanRun:
    """The state of one apply: what is registered so far, saved as it grows."""

    def __init__(
        self,
        platform: _Platform,
        desired: DesiredRegistration,
        state: RegistrationState,
        *,
        stored: RegistrationState,
    ) -> None:
        self._platform = platform
        self._schedules = platform.schedules
        self._desired = desired
        self._stored = stored
        self.schedules: dict[str, RegisteredSchedule] = dict(state.schedules)
        self.registered_hook = state.hook
        self.refused: list[Refusal] = []

    def schedule(self, step: ScheduleStep) -> bool:
        """Applies one schedule step; True when it created a schedule. A step the platform
        refuses (400) is recorded in `refused` and leaves the others to go on."""
        try:
            return self._schedule(step)
        except BadRequest as refused:
            handlers = (step.declaration.handler,) if step.declaration else ()
            self.refused.append(Refusal("schedule", step.name, handlers, str(refused)))
            return False

    def _schedule(self, step: ScheduleStep) -> bool:
        created = step.outcome is Outcome.CREATED or step.recreate
        if step.outcome is Outcome.DELETED or step.recreate:
            self._delete(_registered_uuid(step))
            self.schedules.pop(step.name, None)
        if step.outcome is Outcome.DELETED:
            return False
        if step.outcome is Outcome.UNCHANGED:
            uuid = _registered_uuid(step)
        elif created:
            uuid = self._create(step)
        else:
            uuid, created = self._update(step)
        assert step.fingerprint is not None
        self.schedules[step.name] = RegisteredSchedule(uuid, step.fingerprint, dict(step.fields))
        return created

    def _update(self, step: ScheduleStep) -> tuple[str, bool]:
        uuid = _registered_uuid(step)
        try:
            self._schedules.update(uuid, **step.changes)
        except NotFound:
            logger.info("schedule %s was lost on Dailybot; creating it again", step.name)
            return self._create(step), True
        return uuid, False

    def hook(self, step: HookStep) -> None:
        """Applies the hook step; a refusal (400) is recorded in `refused`."""
        try:
            self._hook(step)
        except BadRequest as refused:
            wanted, registered = step.subscription, step.registered
            if wanted is not None:
                events, handlers = wanted.describe(), wanted.handlers
            else:
                events, handlers = ", ".join(registered.events) if registered else "", ()
            self.refused.append(Refusal("event hook", events, handlers, str(refused)))

    def _hook(self, step: HookStep) -> None:
        if step.outcome is Outcome.DELETED:
            self._platform.events.unsubscribe()
            self.registered_hook = None
        elif step.outcome in (Outcome.CREATED, Outcome.UPDATED):
            wanted = step.subscription
            assert wanted is not None
            hook_uuid = self._platform.events.subscribe(
                wanted.events, subscribed_objects=list(wanted.subscribed_objects) or None
            )
            self.registered_hook = RegisteredHook(
                hook_uuid, wanted.events, wanted.subscribed_objects, wanted.fingerprint()
            )

    def save(
        self, *, desired_fingerprint: str | None, only_if_changed: bool = False
    ) -> RegistrationState:
        # Until the whole plan is applied the stored fingerprint stays unset, so a cold start
        # after an interrupted reconcile plans again instead of believing it is up to date.
        state = RegistrationState(dict(self.schedules), self.registered_hook, desired_fingerprint)
        if not (only_if_changed and state == self._stored):
            self._platform.write_state(state)
            self._stored = state
        return state

    def _create(self, step: ScheduleStep) -> str:
        assert step.declaration is not None
        return self._schedules.create_spec(step.declaration.to_spec(self._desired.callback_url))

    def _delete(self, uuid: str) -> None:
        self._schedules.delete(uuid, missing_ok=True)


def _registered_uuid(step: ScheduleStep) -> str:
    if step.uuid is None:
        raise ValueError(f"the plan has no uuid for schedule {step.name!r}")
    return step.uuid


def _settled(plan: RegistrationPlan, state: RegistrationState) -> bool:
    return not plan.writes and state.desired_fingerprint == plan.desired_fingerprint


def _still_registered(observed: Observed, state: RegistrationState) -> Observed:
    uuids = {entry.uuid for entry in state.schedules.values()}
    return {uuid: seen for uuid, seen in observed.items() if uuid in uuids}


def _result(
    status: ReconcileStatus,
    plan: RegistrationPlan,
    state: RegistrationState,
    refused: tuple[Refusal, ...] = (),
) -> ReconcileResult:
    return ReconcileResult(
        status,
        plan,
        uuids={name: entry.uuid for name, entry in state.schedules.items()},
        hook_uuid=state.hook.uuid if state.hook else None,
        refused=refused,
    )
