"""`vote`: a poll with buttons; clicking one runs `vote yes` or `vote no` as a command.

Each user has one vote, kept in their own storage (`ctx.user_storage`).
"""

from __future__ import annotations

from typing import Final

from chalicelib.runtime import Button, Context, Reply, command

CHOICES: Final = ("yes", "no")
QUESTION: Final = "Shall we ship it?"


BALLOT_KEY: Final = "vote"


@command("vote")
def vote(ctx: Context) -> Reply | str:
    """Asks a yes/no question with buttons; `vote yes` or `vote no` casts your vote"""
    if not ctx.words:
        return Reply(
            f"*{QUESTION}*",
            buttons=[
                Button(label=choice.capitalize(), value=f"vote {choice}", label_after_click="Voted")
                for choice in CHOICES
            ],
        )
    choice = ctx.words[0].lower()
    if choice not in CHOICES or len(ctx.words) != 1:
        return "Usage: `vote` to see the question, `vote yes` or `vote no` to answer."
    ctx.user_storage.set(BALLOT_KEY, choice)
    return f"You voted *{choice}*."
