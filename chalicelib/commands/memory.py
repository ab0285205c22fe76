"""`remember KEY VALUE...`, `recall KEY` and `forget KEY`: the command's key/value storage."""

from __future__ import annotations

from chalicelib.runtime import Context, command


@command("remember")
def remember(ctx: Context) -> str:
    """Stores a value: `remember KEY VALUE...`"""
    if len(ctx.words) < 2:
        return "Usage: `remember KEY VALUE...` (for example `remember color blue`)."
    key, value = ctx.text.split(maxsplit=1)
    ctx.storage.set(key, value)
    return f"Got it: *{key}* is `{value}`."


@command("recall")
def recall(ctx: Context) -> str:
    """Answers a stored value: `recall KEY`"""
    if len(ctx.words) != 1:
        return "Usage: `recall KEY`."
    key = ctx.words[0]
    value = ctx.storage.get(key)
    if value is None:
        return f"Nothing is stored under *{key}*."
    return f"*{key}* is `{value}`."


@command("forget")
def forget(ctx: Context) -> str:
    """Deletes a stored value: `forget KEY`"""
    if len(ctx.words) != 1:
        return "Usage: `forget KEY`."
    key = ctx.words[0]
    ctx.storage.delete(key)
    return f"Forgot *{key}*."
