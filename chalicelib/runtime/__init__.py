"""The author API: everything a command's module imports, from this one place.

    from chalicelib.runtime import Button, Context, Reply, command, event, job, scheduled

    @command("remember")
    def remember(ctx: Context) -> str: ...

`@job(name)` registers work a handler defers with `ctx.defer(job_function, **arguments)`.
Every type a handler receives or passes is here too: what the context holds (`User`,
`Organization`, `DeliveryKind`, `EventCallback`, `ScheduledRun`), its facades (`Storage`,
`Activity`, `Schedules`, `Events`, `Messages`) and the values they take and answer
(`ActivityRecord`, `OutgoingMessage`, `ScheduleOptions`, `ScheduledExecution`), and the
errors a handler may catch. The runtime's own machinery lives in the subpackages (`intake`,
`idempotency`, `jobs`, `registration`) and in `composition`; a command never needs them.
"""

from chalicelib.dailybot.errors import DailybotError, NotFound, RateLimited
from chalicelib.dailybot.models import (
    ActivityRecord,
    JSONValue,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleOptions,
    ScheduleSpec,
)
from chalicelib.runtime.context import (
    Activity,
    Context,
    Events,
    Messages,
    Organization,
    Schedules,
    Storage,
    User,
)
from chalicelib.runtime.declarations import InvalidDeclaration
from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.intake.delivery import DeliveryKind, EventCallback, ScheduledRun
from chalicelib.runtime.registry import command, event, job, scheduled
from chalicelib.runtime.replies import Button, InvalidReply, Reply

__all__ = [
    "Activity",
    "ActivityRecord",
    "Button",
    "Context",
    "DailybotError",
    "DeliveryKind",
    "EventCallback",
    "Events",
    "InvalidDeclaration",
    "InvalidDeferral",
    "InvalidReply",
    "JSONValue",
    "Messages",
    "NotFound",
    "Organization",
    "OutgoingMessage",
    "RateLimited",
    "Reply",
    "ScheduleOptions",
    "ScheduleSpec",
    "ScheduledExecution",
    "ScheduledRun",
    "Schedules",
    "Storage",
    "User",
    "command",
    "event",
    "job",
    "scheduled",
]
