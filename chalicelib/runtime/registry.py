"""The registry of handlers: commands by intent, event handlers by event, scheduled by name.

Command modules decorate their functions with the author API (`command`, `event`,
`scheduled`), which register on the module-level `registry`; the composition root hands that
registry to the runtime. A registry of their own is what tests build for isolation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, Unpack

from chalicelib.dailybot.events import normalise_event_name
from chalicelib.dailybot.models import ScheduleOptions
from chalicelib.runtime.declarations import (
    EventDeclaration,
    InvalidDeclaration,
    ScheduleDeclaration,
)
from chalicelib.runtime.handlers import check_handler, qualified_name
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

    @property
    def origin(self) -> str:
        """Where the handler is: `module.function`."""
        return qualified_name(self.handler)


class CommandRegistry:
    """Handlers of one deployment, looked up by the intake for each delivery.

    Every decorator checks what it is given when the module is imported and raises
    `InvalidDeclaration` with the handler's name and the fix: a decorator used without its
    parentheses, a name taken twice, a declaration the platform would refuse, a handler that
    cannot be called with the context or is annotated to return something that is not a reply.
    """

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
        key = _intent_key(_named("command", intent, "'remember'"))
        return self._register(self._commands, key, f"command {key!r}", f"@command({intent!r})")

    def event(
        self,
        name: str,
        *,
        subscribed_objects: Sequence[str] | None = None,
        owner_only: bool = False,
    ) -> Callable[[H], H]:
        """Registers an event handler; `KUDOS_POSTED` and `kudos.posted` are the same event.

        The event is subscribed in every organization that uses the command, or, with
        `owner_only`, in the owner's (`DAILYBOT_OWNER_ORGANIZATION`) alone.
        """
        _named("event", name, "'kudos.posted'")

        def decorate(handler: H) -> H:
            declaration = EventDeclaration(
                name,
                () if subscribed_objects is None else subscribed_objects,
                handler=qualified_name(handler),
                owner_only=owner_only,
            )
            what = f"event {declaration.event!r}"
            self._register(self._events, declaration.event, what, declaration.where())(handler)
            self._event_declarations[declaration.event] = declaration
            return handler

        return decorate

    def scheduled(
        self, name: str, *, owner_only: bool = False, **options: Unpack[ScheduleOptions]
    ) -> Callable[[H], H]:
        """Registers the handler of the scheduled executions named `name`.

        With options (`cron` or `execution_frequency`, and any other field of `ScheduleSpec`)
        the deployment declares that execution and self-registration creates it in every
        organization that uses the command (with `owner_only`, in the owner's alone); without,
        it is created at run time (e.g. by a command). A declaration the platform could not
        take fails here, naming the handler and the fix.
        """
        _named("scheduled", name, "'daily-digest', cron='0 9 * * 1-5'")
        declares = any(value is not None for value in options.values())

        def decorate(handler: H) -> H:
            where = f"@scheduled({name!r}) on {qualified_name(handler)}"
            declaration = None
            if declares:
                declaration = ScheduleDeclaration(
                    name, handler=qualified_name(handler), owner_only=owner_only, **options
                )
            what = f"scheduled handler {name!r}"
            self._register(self._scheduled, name, what, where)(handler)
            if declaration is not None:
                self._schedule_declarations[name] = declaration
            return handler

        return decorate

    def _register(
        self, table: dict[str, Registered], key: str, what: str, decorator: str
    ) -> Callable[[H], H]:
        def decorate(handler: H) -> H:
            check_handler(handler, decorator)
            if key in table:
                raise InvalidDeclaration(
                    f"{what} is registered twice: by {table[key].origin} and by"
                    f" {qualified_name(handler)}; rename one of them"
                )
            table[key] = Registered(handler, _summary(handler))
            return handler

        return decorate

    def job(self, name: str) -> Callable[[J], J]:
        """Registers a module-level job function under `name`, which must stay the same across
        deploys: a job queued before a deploy finds its function by it after."""
        key = _named("job", name, "'build-report'").strip()
        if not key:
            raise InvalidDeclaration("a job's name cannot be empty, e.g. @job('build-report')")

        def decorate(function: J) -> J:
            qualified = qualified_name(function)
            if "<" in qualified or not callable(function):
                raise InvalidDeclaration(
                    f"@job({key!r}) must decorate a module-level function, not {qualified}"
                )
            check_handler(function, f"@job({key!r})", job=True)
            if key in self._jobs:
                raise InvalidDeclaration(
                    f"job {key!r} is registered twice: by {qualified_name(self._jobs[key])} and"
                    f" by {qualified}; rename one of them"
                )
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
        raise InvalidDeclaration("an intent cannot be empty, e.g. @command('remember')")
    return key


def _named(decorator: str, name: object, example: str) -> str:
    """`name` when it is text; a decorator used bare (`@command`) is given the function."""
    if callable(name):
        raise InvalidDeclaration(
            f"@{decorator} needs parentheses and a name: write @{decorator}({example}) above"
            f" def {getattr(name, '__name__', 'handler')}(...), not a bare @{decorator}"
            f" (on {qualified_name(name)})"
        )
    if not isinstance(name, str):
        raise InvalidDeclaration(
            f"@{decorator}(...) takes the name as text, e.g. @{decorator}({example}); got {name!r}"
        )
    return name


def _summary(handler: Handler) -> str:
    doc = (handler.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


registry = CommandRegistry()
"""The deployment's registry: the author API's decorators register on it."""

command = registry.command
event = registry.event
scheduled = registry.scheduled
job = registry.job
