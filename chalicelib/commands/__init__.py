"""This deployment's commands, one module each; importing a module registers its handlers.

`load_commands()` imports every module of this package, so a new command is a new file, and
the modules `DAILYBOT_EXTRA_COMMANDS` names (comma-separated dotted names: commands kept
outside this package, such as a test suite's drills).
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from chalicelib.runtime.registry import CommandRegistry, registry


def load_commands() -> CommandRegistry:
    """Imports every command module (once) and answers the registry they registered on."""
    for name in sorted(module.name for module in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{name}")
    for extra in os.environ.get("DAILYBOT_EXTRA_COMMANDS", "").split(","):
        if extra.strip():
            importlib.import_module(extra.strip())
    return registry
