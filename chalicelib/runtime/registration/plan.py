"""The plan of a reconcile: what the code declares compared with what this runtime registered.

Pure functions of values: `plan_registration(desired, state, observed)` says, per declared or
registered schedule and for the event hook, whether it must be created, updated (a PUT of only
the changed fields, same uuid), deleted, or left unchanged. `observed` holds what `GET` answered
for registered schedules when the caller chose to verify; without it the plan trusts the stored
state (the cheap cold-start path).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from chalicelib.canonical import canonical_hash
from chalicelib.dailybot.models import (
    SCHEDULE_DEFAULTS,
    UPDATABLE_SCHEDULE_FIELDS,
    JSONValue,
    ScheduledExecution,
)
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.state import (
    STATE_VERSION,
    RegisteredHook,
    RegisteredSchedule,
    RegistrationState,
)

# Compared with what `GET` answers. Not `repeats` nor `is_active`: the platform may count runs
# down or switch a finished schedule off, and that is not drift to undo.
OBSERVED_FIELDS: Final = tuple(name for name in UPDATABLE_SCHEDULE_FIELDS if name != "repeats")
# The platform's default when a create leaves `execution_frequency` out.
DEFAULT_EXECUTION_FREQUENCY: Final = SCHEDULE_DEFAULTS["execution_frequency"]

Observed = Mapping[str, ScheduledExecution | None]
"""What `GET` answered per registered uuid; None means 404 (lost behind the runtime's back)."""


class Outcome(StrEnum):
    """What a reconcile does (or did) to one schedule or to the event hook."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class HookSubscription:
    """The one event hook a command can have: the union of the declared events."""

    events: tuple[str, ...]
    subscribed_objects: tuple[str, ...] = ()
    # The functions that declared the events (for messages); not part of the subscription.
    handlers: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def union(cls, declarations: Iterable[EventDeclaration]) -> HookSubscription | None:
        """The hook covering every declaration, or None when no event is declared.

        The platform narrows a whole hook, not one event, so objects narrow it only when every
        declaration narrows: one declaration that wants all objects must get all of them.
        """
        declared = list(declarations)
        if not declared:
            return None
        events = tuple(sorted({d.event for d in declared}))
        if all(d.subscribed_objects for d in declared):
            objects = tuple(sorted({o for d in declared for o in d.subscribed_objects}))
        else:
            objects = ()
        handlers = tuple(sorted({d.handler for d in declared if d.handler}))
        return cls(events, objects, handlers)

    def fingerprint(self) -> str:
        return canonical_hash(
            {"events": list(self.events), "objects": list(self.subscribed_objects)}
        )

    def describe(self) -> str:
        text = ", ".join(self.events)
        if self.subscribed_objects:
            text += f" (objects: {', '.join(self.subscribed_objects)})"
        return text


@dataclass(frozen=True)
class DesiredRegistration:
    """What the code declares, plus where the platform must call back (part of the fingerprints)."""

    schedules: tuple[ScheduleDeclaration, ...]
    hook: HookSubscription | None
    callback_url: str | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.schedules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"schedules declared twice: {', '.join(duplicates)}")

    @classmethod
    def from_declarations(
        cls,
        schedules: Iterable[ScheduleDeclaration],
        events: Iterable[EventDeclaration],
        callback_url: str | None,
    ) -> DesiredRegistration:
        ordered = tuple(sorted(schedules, key=lambda s: s.name))
        return cls(ordered, HookSubscription.union(events), callback_url)

    def schedule_fields(self, declaration: ScheduleDeclaration) -> dict[str, JSONValue]:
        """The fields the platform should hold for `declaration` (None: the platform's default)."""
        fields = declaration.to_spec(self.callback_url).as_dict()
        if fields["execution_frequency"] is None:
            fields["execution_frequency"] = DEFAULT_EXECUTION_FREQUENCY
        return fields

    def schedule_fingerprint(self, declaration: ScheduleDeclaration) -> str:
        return canonical_hash([declaration.fingerprint(), self.callback_url])

    def fingerprint(self) -> str:
        """One value for the whole declaration set: equal means a cold start has nothing to do."""
        return canonical_hash(
            {
                "version": STATE_VERSION,
                "schedules": {s.name: self.schedule_fingerprint(s) for s in self.schedules},
                "hook": None if self.hook is None else self.hook.fingerprint(),
            }
        )


@dataclass(frozen=True)
class ScheduleStep:
    """What to do with one schedule. `uuid` is the registered one (None until created)."""

    outcome: Outcome
    name: str
    reason: str
    uuid: str | None = None
    fields: Mapping[str, JSONValue] = field(default_factory=dict)
    fingerprint: str | None = None
    declaration: ScheduleDeclaration | None = None
    changes: Mapping[str, JSONValue] = field(default_factory=dict)
    # PUT cannot change ownership: such a change deletes the schedule and creates it again.
    recreate: bool = False


@dataclass(frozen=True)
class HookStep:
    """What to do with the command's event hook."""

    outcome: Outcome
    reason: str
    subscription: HookSubscription | None = None
    registered: RegisteredHook | None = None


@dataclass(frozen=True)
class RegistrationPlan:
    """Every step of one reconcile, schedules by name, then the hook."""

    schedules: tuple[ScheduleStep, ...]
    hook: HookStep | None
    desired_fingerprint: str

    def outcomes(self) -> list[Outcome]:
        """The outcome of every step, schedules first."""
        hook = [self.hook.outcome] if self.hook else []
        return [step.outcome for step in self.schedules] + hook

    def counts(self) -> dict[Outcome, int]:
        """How many steps have each outcome."""
        counted = dict.fromkeys(Outcome, 0)
        for outcome in self.outcomes():
            counted[outcome] += 1
        return counted

    @property
    def writes(self) -> bool:
        """Whether applying the plan changes anything on the platform."""
        return any(outcome is not Outcome.UNCHANGED for outcome in self.outcomes())


def plan_registration(
    desired: DesiredRegistration, state: RegistrationState, observed: Observed | None = None
) -> RegistrationPlan:
    """The steps that make the platform match `desired`, given what was registered."""
    observed = observed or {}
    steps = [
        _schedule_step(desired, declaration, state.schedules.get(declaration.name), observed)
        for declaration in desired.schedules
    ]
    declared = {d.name for d in desired.schedules}
    steps += [
        ScheduleStep(Outcome.DELETED, name, "no longer declared", uuid=registered.uuid)
        for name, registered in sorted(state.schedules.items())
        if name not in declared
    ]
    steps.sort(key=lambda step: step.name)
    return RegistrationPlan(
        tuple(steps), _hook_step(desired.hook, state.hook), desired.fingerprint()
    )


def _schedule_step(
    desired: DesiredRegistration,
    declaration: ScheduleDeclaration,
    registered: RegisteredSchedule | None,
    observed: Observed,
) -> ScheduleStep:
    fields = desired.schedule_fields(declaration)
    fingerprint = desired.schedule_fingerprint(declaration)

    base = ScheduleStep(
        Outcome.CREATED,
        declaration.name,
        "declared, not registered yet",
        fields=fields,
        fingerprint=fingerprint,
        declaration=declaration,
    )
    if registered is None:
        return base
    seen = observed.get(registered.uuid, _NOT_OBSERVED)
    if seen is None:
        return replace(base, reason="lost on Dailybot: GET answered 404")
    base = replace(base, outcome=Outcome.UNCHANGED, reason="", uuid=registered.uuid)
    if (
        registered.fields
        and registered.fields.get("is_owned_by_user") != fields["is_owned_by_user"]
    ):
        return replace(base, outcome=Outcome.UPDATED, reason="ownership changed", recreate=True)
    changes: dict[str, JSONValue] = {}
    reasons: list[str] = []
    if registered.fingerprint != fingerprint:
        changes |= _changed_fields(registered.fields, fields)
        reasons.append("declaration changed")
    if isinstance(seen, ScheduledExecution):
        drift = _drifted_fields(seen, fields)
        if drift:
            changes |= drift
            reasons.append("changed on Dailybot")
    if not changes:
        return base
    return replace(
        base,
        outcome=Outcome.UPDATED,
        reason=f"{' and '.join(reasons)}: {', '.join(sorted(changes))}",
        changes=changes,
    )


class _NotObserved:
    """Marks a registered schedule nobody asked the platform about."""


_NOT_OBSERVED: Final = _NotObserved()


def _changed_fields(
    before: Mapping[str, JSONValue], after: Mapping[str, JSONValue]
) -> dict[str, JSONValue]:
    # Without the fields sent last time (an older state) every updatable field is sent again.
    return {
        name: after[name]
        for name in UPDATABLE_SCHEDULE_FIELDS
        if not before or name not in before or before[name] != after[name]
    }


def _drifted_fields(
    seen: ScheduledExecution, wanted: Mapping[str, JSONValue]
) -> dict[str, JSONValue]:
    drift: dict[str, JSONValue] = {}
    for name in OBSERVED_FIELDS:
        # Without a callback URL the platform shows the command's own URL: not drift.
        if name == "callback_url" and wanted[name] is None:
            continue
        actual = getattr(seen, name)
        if (dict(actual) if name == "payload" else actual) != wanted[name]:
            drift[name] = wanted[name]
    return drift


def _hook_step(
    wanted: HookSubscription | None, registered: RegisteredHook | None
) -> HookStep | None:
    if wanted is None:
        if registered is None:
            return None
        return HookStep(Outcome.DELETED, "no events declared", registered=registered)
    if registered is None:
        return HookStep(Outcome.CREATED, "events declared, no hook yet", subscription=wanted)
    if registered.fingerprint != wanted.fingerprint():
        return HookStep(
            Outcome.UPDATED, "declared events changed", subscription=wanted, registered=registered
        )
    return HookStep(Outcome.UNCHANGED, "", subscription=wanted, registered=registered)
