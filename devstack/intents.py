"""The intents the app registers, so that `make run` can invoke every one of them.

The one place that knows where the app keeps its registry: a change of the runtime's layout
changes this function only.
"""

from __future__ import annotations

from chalicelib.commands import load_commands
from chalicelib.runtime.registry import registry


def app_intents() -> list[str]:
    """Every intent the app's command modules register, sorted."""
    load_commands()
    return list(registry.commands())
