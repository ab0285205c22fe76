"""`standup-reminder on CRON` / `standup-reminder off`, and the reminder when it fires.

The scheduled execution belongs to the user who asked (`is_owned_by_user`), so it fires with
their exchange token. Its uuid is kept in the user's own storage (`ctx.user_storage`), which
no key typed into another command can reach: a user can only ever turn off their own.
"""

from __future__ import annotations

from typing import Final

from chalicelib.runtime import Context, command, scheduled

SCHEDULE_NAME: Final = "standup-reminder"
STORAGE_KEY: Final = "standup-reminder"
USAGE: Final = (
    "Usage: `standup-reminder on CRON` (e.g. `on 0 9 * * 1-5`) or `standup-reminder off`."
)


@command("standup-reminder")
def standup_reminder(ctx: Context) -> str:
    """Turns your standup reminder on (`on CRON`) or `off`"""
    action = ctx.words[0].lower() if ctx.words else ""
    if action == "on" and len(ctx.words) == 6:
        return _turn_on(ctx, " ".join(ctx.words[1:]))
    if action == "off" and len(ctx.words) == 1:
        return _turn_off(ctx)
    return USAGE


def _turn_on(ctx: Context, cron: str) -> str:
    _delete_existing(ctx, ctx.user_storage.get(STORAGE_KEY))
    uuid = ctx.schedules.create(SCHEDULE_NAME, cron=cron, is_owned_by_user=True)
    ctx.user_storage.set(STORAGE_KEY, uuid)
    return f"Standup reminder on (`{cron}`). Scheduled execution: `{uuid}`."


def _turn_off(ctx: Context) -> str:
    existing = ctx.user_storage.get(STORAGE_KEY)
    if not isinstance(existing, str):
        return "You have no standup reminder on."
    _delete_existing(ctx, existing)
    ctx.user_storage.delete(STORAGE_KEY)
    return "Standup reminder off."


def _delete_existing(ctx: Context, uuid: object) -> None:
    if isinstance(uuid, str) and uuid:
        # Already gone on the platform side: nothing left to turn off.
        ctx.schedules.delete(uuid, missing_ok=True)


@scheduled(SCHEDULE_NAME)
def standup_reminder_fired(ctx: Context) -> str:
    """Reminds the user that standup is now"""
    ctx.activity.record("schedule", "fired", label=SCHEDULE_NAME, user_uuid=ctx.user.uuid)
    name = ctx.user.full_name or "there"
    return f"Hi {name}, it's time for standup! What did you do, what's next, anything blocking?"
