"""This deployment's commands, one module each; importing a module registers its handlers.

`load_commands()` imports every module of this package, so a new command is a new file.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_commands() -> list[str]:
    """Imports every command module (once) and answers their names."""
    names = sorted(module.name for module in pkgutil.iter_modules(__path__))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names
