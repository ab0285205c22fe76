"""The author API: everything a command's module imports, from this one place.

    from chalicelib.runtime import Button, Context, Reply, command, event, job, scheduled

    @command("remember")
    def remember(ctx: Context) -> str: ...

`@job(name)` registers work a handler defers with `ctx.defer(job_function, **arguments)`.
The runtime's own machinery lives in the subpackages (`intake`, `idempotency`, `jobs`,
`registration`) and in `composition`; a command never needs them.
"""

from chalicelib.dailybot.errors import DailybotError, NotFound, RateLimited
from chalicelib.runtime.context import Context
from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.registry import command, event, job, scheduled
from chalicelib.runtime.replies import Button, Reply

__all__ = [
    "Button",
    "Context",
    "DailybotError",
    "InvalidDeferral",
    "NotFound",
    "RateLimited",
    "Reply",
    "command",
    "event",
    "job",
    "scheduled",
]
