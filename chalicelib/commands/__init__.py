"""This deployment's commands, one module each; importing a module registers its handlers.

`load_commands()` imports every module of this package, so a new command is a new file, and
the modules `DAILYBOT_EXTRA_COMMANDS` names (comma-separated dotted names: commands kept
outside this package, such as a test suite's drills).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from chalicelib.runtime.declarations import InvalidDeclaration
from chalicelib.runtime.registry import CommandRegistry, registry

EXIT_INVALID_DECLARATION = 2


def load_commands(*, command_line: bool = False) -> CommandRegistry:
    """Imports every command module (once) and answers the registry they registered on.

    A declaration the platform would refuse raises `InvalidDeclaration` naming the handler and
    the fix; on a command line (`python app.py sync`) it is that one line on stderr and exit
    status 2 instead of a traceback.
    """
    try:
        for name in sorted(module.name for module in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{name}")
        for extra in os.environ.get("DAILYBOT_EXTRA_COMMANDS", "").split(","):
            if extra.strip():
                importlib.import_module(extra.strip())
    except InvalidDeclaration as error:
        if not command_line:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID_DECLARATION) from None
    return registry
