"""The registry of handlers: commands by intent, event handlers by event, scheduled by name.

Command modules decorate their functions with the author API (`command`, `event`,
`scheduled`), which register on the module-level `registry`; the composition root hands that
registry to the runtime. A registry of their own is what tests build for isolation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.dailybot.events import normalise_event_name
from chalicelib.dailybot.models import JSONValue
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.replies import ReplyLike

if TYPE_CHECKING:
    from chalicelib.runtime.context import Context

Handler = Callable[["Context"], ReplyLike | None]
H = TypeVar("H", bound=Handler)
JobFunction = Callable[..., ReplyLike | None]
"""A job: `fn(ctx, **arguments)`; its return value is the follow-up message."""
J = TypeVar("J", bound=JobFunction)


@dataclass(frozen=True)
class Registered:
    """A handler and the one-line summary shown in the list of available commands."""

    handler: Handler
    summary: str


class CommandRegistry:
    """Handlers of one deployment, looked up by the intake for each delivery."""

    def __init__(self) -> None:
        self._commands: dict[str, Registered] = {}
        self._events: dict[str, Registered] = {}
        self._event_declarations: dict[str, EventDeclaration] = {}
        self._scheduled: dict[str, Registered] = {}
        self._schedule_declarations: dict[str, ScheduleDeclaration] = {}
        self._jobs: dict[str, JobFunction] = {}
        self._job_names: dict[JobFunction, str] = {}

    def command(self, intent: str) -> Callable[[H], H]:
        """Registers a command for `intent` (case-insensitive)."""
        key = _intent_key(intent)
        return self._register(self._commands, key, f"command {key!r}")

    def event(
        self, name: str, *, subscribed_objects: Sequence[str] | None = None
    ) -> Callable[[H], H]:
        """Registers an event handler; `KUDOS_POSTED` and `kudos.posted` are the same event."""
        declaration = EventDeclaration(name, tuple(subscribed_objects or ()))
        register = self._register(self._events, declaration.event, f"event {declaration.event!r}")

        def decorate(handler: H) -> H:
            self._event_declarations[declaration.event] = declaration
            return register(handler)

        return decorate

    def scheduled(
        self,
        name: str,
        *,
        cron: str | None = None,
        execution_frequency: int | None = None,
        timezone_type: str | None = None,
        repeats: int | None = None,
        payload: Mapping[str, JSONValue] | None = None,
        is_owned_by_user: bool | None = None,
    ) -> Callable[[H], H]:
        """Registers the handler of the scheduled executions named `name`.

        With `cron` or `execution_frequency` the deployment declares that execution and
        self-registration creates it; without, it is created at run time (e.g. by a command).
        A declaration the platform could not take fails here, naming the handler.
        """
        given: dict[str, Any] = {
            "cron": cron,
            "execution_frequency": execution_frequency,
            "timezone_type": timezone_type,
            "repeats": repeats,
            "payload": payload,
            "is_owned_by_user": is_owned_by_user,
        }
        declared = {key: value for key, value in given.items() if value is not None}
        register = self._register(self._scheduled, name, f"scheduled handler {name!r}")

        def decorate(handler: H) -> H:
            if declared:
                try:
                    declaration = ScheduleDeclaration(name, **declared)
                except ValueError as exc:
                    raise ValueError(f"@scheduled on {_qualified(handler)}: {exc}") from exc
                self._schedule_declarations[name] = declaration
            return register(handler)

        return decorate

    def _register(self, table: dict[str, Registered], key: str, what: str) -> Callable[[H], H]:
        def decorate(handler: H) -> H:
            if key in table:
                raise ValueError(f"{what} is registered twice")
            table[key] = Registered(handler, _summary(handler))
            return handler

        return decorate

    def job(self, name: str) -> Callable[[J], J]:
        """Registers a module-level job function under `name`, which must stay the same across
        deploys: a job queued before a deploy finds its function by it after."""
        key = name.strip()
        if not key:
            raise ValueError("a job's name cannot be empty")

        def decorate(function: J) -> J:
            qualified = _qualified(function)
            if "<" in qualified or not callable(function):
                raise ValueError(
                    f"@job({key!r}) must decorate a module-level function, not {qualified}"
                )
            if key in self._jobs:
                raise ValueError(f"job {key!r} is registered twice")
            self._jobs[key] = function
            self._job_names[function] = key
            return function

        return decorate

    def job_named(self, name: str) -> JobFunction | None:
        return self._jobs.get(name)

    def name_of_job(self, function: object) -> str | None:
        """The name `function` was registered under as a job, or None."""
        for registered, name in self._job_names.items():
            if registered is function:
                return name
        return None

    def command_for(self, intent: str) -> Handler | None:
        entry = self._commands.get(_intent_key(intent))
        return None if entry is None else entry.handler

    def event_handler(self, name: str) -> Handler | None:
        entry = self._events.get(normalise_event_name(name))
        return None if entry is None else entry.handler

    def scheduled_handler(self, name: str) -> Handler | None:
        entry = self._scheduled.get(name)
        return None if entry is None else entry.handler

    def commands(self) -> dict[str, str]:
        """Every intent with its summary, sorted by intent."""
        return {intent: self._commands[intent].summary for intent in sorted(self._commands)}

    def declared_schedules(self) -> list[ScheduleDeclaration]:
        return [self._schedule_declarations[name] for name in sorted(self._schedule_declarations)]

    def declared_events(self) -> list[EventDeclaration]:
        return [self._event_declarations[name] for name in sorted(self._event_declarations)]


def _intent_key(intent: str) -> str:
    key = intent.strip().lower()
    if not key:
        raise ValueError("an intent cannot be empty")
    return key


def _summary(handler: Handler) -> str:
    doc = (handler.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _qualified(handler: Callable[..., object]) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"


registry = CommandRegistry()
"""The deployment's registry: the author API's decorators register on it."""

command = registry.command
event = registry.event
scheduled = registry.scheduled
job = registry.job
