"""Self-registration: makes Dailybot hold the schedules and the event hook the code declares.

`Reconciler.reconcile()` reads what this runtime registered (one storage key in its own
namespace, `registration_state`), plans the difference with what the registry declares
(`registration_plan`), and applies it through the client under a lock shared by every
container (`reconcile_lock`).

Two ways in, with different costs:

- `ColdStartReconciler`, a verified-delivery hook: on the first verified delivery of a container
  (then at most once per `reconcile_period_seconds`) it compares fingerprints only. When nothing
  changed that is exactly one storage read and no write, and no lock. It cannot notice a
  schedule deleted on Dailybot behind the runtime's back: that would take a GET per schedule
  on every cold start.
- `make sync` (`chalicelib.runtime.sync`), or `reconcile(..., verify=True)`: also GETs every
  registered schedule, recreates the ones that answer 404 and puts back fields changed on
  Dailybot. That costs one GET per declared schedule.

The platform has no list endpoint, so the stored state is the only record of what exists. A
created schedule is written to it before the next platform write, so an interrupted reconcile
loses at most the one schedule whose create timed out without an answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import NotFound
from chalicelib.dailybot.models import ScheduledExecution
from chalicelib.observability import logger, metrics
from chalicelib.redaction import Secret
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.reconcile_lock import IdempotencyStoreLock, ReconcileLock
from chalicelib.runtime.registration_plan import (
    DesiredRegistration,
    HookStep,
    Observed,
    Outcome,
    RegistrationPlan,
    ScheduleStep,
    plan_registration,
)
from chalicelib.runtime.registration_state import (
    RegisteredHook,
    RegisteredSchedule,
    RegistrationState,
)
from chalicelib.settings import Settings

T = TypeVar("T")

STATE_KEY: Final = "registration"
ERROR_METRIC: Final = "ReconcileErrors"
# After a failed cold-start reconcile, deliveries within this many seconds do not try again:
# while the platform is down each try would spend part of a user's reply budget.
RETRY_AFTER_FAILURE_SECONDS: Final = 60.0


class TokenCaller(Protocol):
    """Runs a platform call with an exchange token (`TokenSession` is one)."""

    def call(self, fn: Callable[[Secret], T], *, deadline: Deadline | None = None) -> T: ...


class DeclarationSource(Protocol):
    """Where the declarations come from (`CommandRegistry` is one)."""

    def declared_schedules(self) -> list[ScheduleDeclaration]: ...

    def declared_events(self) -> list[EventDeclaration]: ...


def desired_registration(source: DeclarationSource, settings: Settings) -> DesiredRegistration:
    """What `source` declares, calling back to the deployment's public URL when it is known."""
    return DesiredRegistration.from_declarations(
        source.declared_schedules(), source.declared_events(), settings.public_url
    )


class ReconcileStatus(StrEnum):
    APPLIED = "applied"
    UP_TO_DATE = "up to date"
    DRY_RUN = "dry run"
    BUSY = "skipped: another reconcile holds the lock"


@dataclass(frozen=True)
class ReconcileResult:
    """The plan and what became of it; `uuids` are the schedules' uuids afterwards, by name."""

    status: ReconcileStatus
    plan: RegistrationPlan
    uuids: Mapping[str, str] = field(default_factory=dict)
    hook_uuid: str | None = None

    @property
    def done(self) -> bool:
        """The platform matches the declarations (nothing left for a later reconcile)."""
        return self.status in (ReconcileStatus.APPLIED, ReconcileStatus.UP_TO_DATE)


class Reconciler:
    """Reads, plans and applies self-registration for one registration namespace."""

    def __init__(
        self,
        client: DailybotClient,
        *,
        namespace: str,
        lock: ReconcileLock | None = None,
        state_key: str = STATE_KEY,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._lock = lock
        self._state_key = state_key

    def __repr__(self) -> str:
        return f"Reconciler(namespace={self._namespace!r}, state_key={self._state_key!r})"

    @property
    def lock_name(self) -> str:
        # Named after the stored state it protects, not the declarations: two deployed
        # versions (during a rollout) write the same key and must take turns too.
        return f"reconcile:{self._namespace}:{self._state_key}"

    def read_state(self, *, deadline: Deadline | None = None) -> RegistrationState:
        """The stored state. Namespaced storage needs only the API key: no token is fetched."""
        stored = self._client.storage_get(
            self._state_key, namespace=self._namespace, deadline=deadline
        )
        return RegistrationState.from_json(stored)

    def reconcile(
        self,
        desired: DesiredRegistration,
        tokens: TokenCaller,
        *,
        verify: bool = False,
        dry_run: bool = False,
        deadline: Deadline | None = None,
    ) -> ReconcileResult:
        """Makes the platform match `desired` (or only plans it, with `dry_run`)."""
        state = self.read_state(deadline=deadline)
        observed = self._observe(state, desired, tokens, deadline) if verify else {}
        plan = plan_registration(desired, state, observed)
        if _settled(plan, state):
            return _result(ReconcileStatus.UP_TO_DATE, plan, state)
        if dry_run:
            return _result(ReconcileStatus.DRY_RUN, plan, state)
        if self._lock is None:
            return self._apply(desired, plan, state, tokens, deadline)
        if not self._lock.acquire(self.lock_name):
            return _result(ReconcileStatus.BUSY, plan, state)
        try:
            # Another container may have finished the same work between our read and the lock.
            fresh = self.read_state(deadline=deadline)
            if fresh != state:
                state = fresh
                plan = plan_registration(desired, state, _still_registered(observed, state))
                if _settled(plan, state):
                    return _result(ReconcileStatus.UP_TO_DATE, plan, state)
            return self._apply(desired, plan, state, tokens, deadline)
        finally:
            self._release()

    def _release(self) -> None:
        assert self._lock is not None
        try:
            self._lock.release(self.lock_name)
        except Exception:
            # The lock expires on its own; the work it guarded is already done or failed.
            logger.warning("could not release the reconcile lock", exc_info=True)

    def _observe(
        self,
        state: RegistrationState,
        desired: DesiredRegistration,
        tokens: TokenCaller,
        deadline: Deadline | None,
    ) -> dict[str, ScheduledExecution | None]:
        observed: dict[str, ScheduledExecution | None] = {}
        for declaration in desired.schedules:
            registered = state.schedules.get(declaration.name)
            if registered is None:
                continue
            observed[registered.uuid] = self._get_schedule(registered.uuid, tokens, deadline)
        return observed

    def _get_schedule(
        self, uuid: str, tokens: TokenCaller, deadline: Deadline | None
    ) -> ScheduledExecution | None:
        try:
            return tokens.call(
                lambda token: self._client.get_schedule(
                    uuid, exchange_token=token, deadline=deadline
                ),
                deadline=deadline,
            )
        except NotFound:
            return None

    def _apply(
        self,
        desired: DesiredRegistration,
        plan: RegistrationPlan,
        state: RegistrationState,
        tokens: TokenCaller,
        deadline: Deadline | None,
    ) -> ReconcileResult:
        run = _PlanRun(self, desired, state, tokens, deadline)
        writes = [step.outcome is not Outcome.UNCHANGED for step in plan.schedules]
        hook_writes = plan.hook is not None and plan.hook.outcome is not Outcome.UNCHANGED
        for index, step in enumerate(plan.schedules):
            if run.schedule(step) and (any(writes[index + 1 :]) or hook_writes):
                # Recorded before the next write: if that one fails, this uuid is not lost.
                run.save(desired_fingerprint=None)
        if plan.hook is not None:
            run.hook(plan.hook)
        final = run.save(desired_fingerprint=plan.desired_fingerprint, only_if_changed=True)
        return _result(ReconcileStatus.APPLIED, plan, final)

    def write_state(self, state: RegistrationState, *, deadline: Deadline | None) -> None:
        self._client.storage_set(
            self._state_key, state.to_json(), namespace=self._namespace, deadline=deadline
        )

    @property
    def client(self) -> DailybotClient:
        return self._client


class _PlanRun:
    """The state of one apply: what is registered so far, saved as it grows."""

    def __init__(
        self,
        reconciler: Reconciler,
        desired: DesiredRegistration,
        state: RegistrationState,
        tokens: TokenCaller,
        deadline: Deadline | None,
    ) -> None:
        self._reconciler = reconciler
        self._client = reconciler.client
        self._desired = desired
        self._stored = state
        self._tokens = tokens
        self._deadline = deadline
        self.schedules: dict[str, RegisteredSchedule] = dict(state.schedules)
        self.registered_hook = state.hook

    def schedule(self, step: ScheduleStep) -> bool:
        """Applies one schedule step; True when it created a schedule."""
        created = step.outcome is Outcome.CREATED or step.recreate
        if step.outcome is Outcome.DELETED:
            self._delete(_registered_uuid(step))
            self.schedules.pop(step.name, None)
            return False
        if step.outcome is Outcome.UNCHANGED:
            uuid = _registered_uuid(step)
        elif step.outcome is Outcome.CREATED:
            uuid = self._create(step)
        elif step.recreate:
            self._delete(_registered_uuid(step))
            uuid = self._create(step)
        else:
            uuid, created = self._update(step)
        assert step.fingerprint is not None
        self.schedules[step.name] = RegisteredSchedule(uuid, step.fingerprint, dict(step.fields))
        return created

    def _update(self, step: ScheduleStep) -> tuple[str, bool]:
        uuid = _registered_uuid(step)
        try:
            self._call(
                lambda token: self._client.update_schedule(
                    uuid, step.changes, exchange_token=token, deadline=self._deadline
                )
            )
        except NotFound:
            logger.info("schedule %s was lost on Dailybot; creating it again", step.name)
            return self._create(step), True
        return uuid, False

    def hook(self, step: HookStep) -> None:
        if step.outcome is Outcome.DELETED:
            self._call(
                lambda token: self._client.unregister_event_subscription(
                    exchange_token=token, deadline=self._deadline
                )
            )
            self.registered_hook = None
        elif step.outcome in (Outcome.CREATED, Outcome.UPDATED):
            wanted = step.subscription
            assert wanted is not None
            hook_uuid = self._call(
                lambda token: self._client.register_event_subscription(
                    wanted.events,
                    subscribed_objects=list(wanted.subscribed_objects) or None,
                    exchange_token=token,
                    deadline=self._deadline,
                )
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
            self._reconciler.write_state(state, deadline=self._deadline)
            self._stored = state
        return state

    def _create(self, step: ScheduleStep) -> str:
        assert step.declaration is not None
        spec = step.declaration.to_spec(self._desired.callback_url)
        return self._call(
            lambda token: self._client.create_schedule(
                spec, exchange_token=token, deadline=self._deadline
            )
        )

    def _delete(self, uuid: str) -> None:
        try:
            self._call(
                lambda token: self._client.delete_schedule(
                    uuid, exchange_token=token, deadline=self._deadline
                )
            )
        except NotFound:
            logger.info("schedule %s was already gone", uuid)

    def _call(self, fn: Callable[[Secret], T]) -> T:
        return self._tokens.call(fn, deadline=self._deadline)


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
    status: ReconcileStatus, plan: RegistrationPlan, state: RegistrationState
) -> ReconcileResult:
    return ReconcileResult(
        status,
        plan,
        uuids={name: entry.uuid for name, entry in state.schedules.items()},
        hook_uuid=state.hook.uuid if state.hook else None,
    )


def count_reconcile_error() -> None:
    """Adds one to the `ReconcileErrors` metric, flushed with the delivery's metrics."""
    metrics.add_metric(name=ERROR_METRIC, unit=MetricUnit.Count, value=1)


class ColdStartReconciler:
    """The verified-delivery hook that reconciles on a container's first verified delivery.

    At most once per `settings.reconcile_period_seconds` per container, using the delivery's
    token session and deadline. The first run costs one storage read when nothing changed;
    later ones also check each declared schedule on the platform and repair what was lost.
    A failure is logged and counted, never raised (the delivery goes on), and not recorded as
    done: a delivery after `retry_after_failure_seconds` tries again. Losing the lock to
    another container is not done either; the next delivery looks again, which costs one read
    once the other container has finished.
    """

    def __init__(
        self,
        settings: Settings,
        client: DailybotClient,
        registry: DeclarationSource,
        lock: ReconcileLock | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        count_error: Callable[[], None] = count_reconcile_error,
        retry_after_failure_seconds: float = RETRY_AFTER_FAILURE_SECONDS,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._reconciler = Reconciler(client, namespace=settings.registry_namespace, lock=lock)
        self._clock = clock
        self._count_error = count_error
        self._retry_after_failure = retry_after_failure_seconds
        self._next_due: float | None = None
        # The first reconcile of a container trusts the stored fingerprints (one read); later
        # ones, once a period, also GET each schedule, so one deleted on Dailybot comes back
        # without anyone running `make sync`.
        self._settled = False
        self._running = threading.Lock()

    def __repr__(self) -> str:
        return f"ColdStartReconciler(namespace={self._settings.registry_namespace!r})"

    def __call__(
        self, *, organization_uuid: str | None, tokens: TokenCaller, deadline: Deadline
    ) -> None:
        if self._next_due is not None and self._clock() < self._next_due:
            return
        # One reconcile per container at a time; concurrent deliveries just go on.
        if not self._running.acquire(blocking=False):
            return
        try:
            self._reconcile(organization_uuid, tokens, deadline)
        finally:
            self._running.release()

    def _reconcile(
        self, organization_uuid: str | None, tokens: TokenCaller, deadline: Deadline
    ) -> None:
        try:
            # Read per run, not at construction: command modules may register after wiring.
            desired = desired_registration(self._registry, self._settings)
            result = self._reconciler.reconcile(
                desired, tokens, verify=self._settled, deadline=deadline
            )
        except Exception:
            logger.exception(
                "self-registration failed; it will be tried again",
                extra={"organization_uuid": organization_uuid},
            )
            self._count_error()
            self._next_due = self._clock() + self._retry_after_failure
            return
        if result.done:
            self._next_due = self._clock() + self._settings.reconcile_period_seconds
            self._settled = True
        if result.plan.writes and result.done:
            counts = {str(o): n for o, n in result.plan.counts().items() if n}
            logger.info("self-registration applied", extra={"steps": counts})


def build_hook(
    *, settings: Settings, client: DailybotClient, registry: DeclarationSource
) -> ColdStartReconciler:
    """The deployment's cold-start reconcile, as the runtime's composition wires it."""
    lock = IdempotencyStoreLock.from_settings(settings)
    return ColdStartReconciler(settings, client, registry, lock)
