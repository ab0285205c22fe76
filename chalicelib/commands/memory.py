"""`remember KEY VALUE...`, `recall KEY` and `forget KEY`: the command's key/value storage."""

from __future__ import annotations

import json
from typing import Final

from chalicelib.runtime import Context, command

# What the platform's storage takes: keys of up to 255 characters, values of up to 64 KiB.
LONGEST_KEY: Final = 255
LARGEST_VALUE_BYTES: Final = 64 * 1024


def input_problem(key: str, value: str | None = None) -> str | None:
    """Why the platform would refuse this key (and value), in the user's words; None if fine."""
    try:
        encoded = json.dumps(value, ensure_ascii=False).encode("utf-8")
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "That text holds a character that cannot be stored."
    if len(key) > LONGEST_KEY:
        return f"Keys are at most {LONGEST_KEY} characters."
    if len(encoded) > LARGEST_VALUE_BYTES:
        return "Values are at most 64 KB."
    return None


@command("remember")
def remember(ctx: Context) -> str:
    """Stores a value: `remember KEY VALUE...`"""
    if len(ctx.words) < 2:
        return "Usage: `remember KEY VALUE...` (for example `remember color blue`)."
    key, value = ctx.text.split(maxsplit=1)
    problem = input_problem(key, value)
    if problem:
        return problem
    ctx.storage.set(key, value)
    return f"Got it: *{key}* is `{value}`."


@command("recall")
def recall(ctx: Context) -> str:
    """Answers a stored value: `recall KEY`"""
    if len(ctx.words) != 1:
        return "Usage: `recall KEY`."
    key = ctx.words[0]
    problem = input_problem(key)
    if problem:
        return problem
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
    problem = input_problem(key)
    if problem:
        return problem
    ctx.storage.delete(key)
    return f"Forgot *{key}*."
