"""Secret values that cannot leak: a wrapper whose repr and str hide the value, and text scrubbing.

API keys, exchange tokens and signatures travel through the code as `Secret` so that an
accidental f-string, log call or traceback shows a placeholder, never the value itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

REDACTED: Final = "[redacted]"
# Very short values would scrub ordinary words; real secrets are long.
SHORTEST_SECRET: Final = 6


class Secret:
    """A secret string. Only `reveal()` gives the value; everything else shows a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send or compare it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:  # pragma: no cover - pickling only
        return (Secret, (self._value,))


def redact_text(text: str, secrets: Iterable[str | Secret]) -> str:
    """`text` with every occurrence of any of `secrets` replaced by the placeholder."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= SHORTEST_SECRET and value in text:
            text = text.replace(value, REDACTED)
    return text
