"""Text made safe to print on a terminal, whatever a platform answered.

A command line prints what the platform sent back (a schedule's uuid, an error's detail). A
broken or hostile platform can put escape sequences or control characters there, which a
terminal would act on (clear the screen, rewrite earlier lines, set the window title) rather
than show. `printable` writes each such character as its Python escape instead, so it is seen
for what it is.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with every character that is not printable (control characters, escape
    sequences, bidirectional overrides, line breaks) written as its escape, e.g. `\\x1b`."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
