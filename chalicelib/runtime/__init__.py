"""The author API: everything a command's module imports, from this one place.

    from chalicelib.runtime import Button, Context, Reply, command, event, scheduled

    @command("remember")
    def remember(ctx: Context) -> str: ...

The runtime's own machinery lives in the subpackages (`intake`, `idempotency`,
`registration`) and in `composition`; a command never needs them.
"""

from chalicelib.dailybot.errors import DailybotError, NotFound, RateLimited
from chalicelib.runtime.context import Context
from chalicelib.runtime.registry import command, event, scheduled
from chalicelib.runtime.replies import Button, Reply

__all__ = [
    "Button",
    "Context",
    "DailybotError",
    "NotFound",
    "RateLimited",
    "Reply",
    "command",
    "event",
    "scheduled",
]
