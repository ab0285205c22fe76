"""This deployment's commands, one module each; importing a module registers its handlers.

`load_commands()` imports every module of this package, so a new command is a new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from chalicelib.runtime.registry import CommandRegistry, registry


def load_commands() -> CommandRegistry:
    """Imports every command module (once) and answers the registry they registered on."""
    for name in sorted(module.name for module in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{name}")
    return registry
