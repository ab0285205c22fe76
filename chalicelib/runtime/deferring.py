"""What `ctx.defer` needs from the jobs machinery: a small interface, and the error it raises.

The context depends on this alone; the jobs package provides the implementation (the jobs one
run collects) and the composition root hands it in. Nothing here knows about queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class InvalidDeferral(ValueError):
    """`ctx.defer` was given something that cannot be queued; the message says what and why."""


class Deferrer(Protocol):
    """Takes the jobs one run defers; they are queued only if the run finishes successfully."""

    def defer(self, job: Callable[..., object], arguments: Mapping[str, Any]) -> str:
        """Checks and keeps one job; answers its identity, or raises `InvalidDeferral`."""
        ...
