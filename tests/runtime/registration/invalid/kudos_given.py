"""An event the platform does not send (it sends `kudos.posted`)."""

from __future__ import annotations

from chalicelib.runtime import Context, event


@event("kudos.given")
def thank(ctx: Context) -> None:
    return None
