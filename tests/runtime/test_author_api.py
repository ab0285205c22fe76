"""The author API is one import, and the packages import only downwards."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import chalicelib.runtime as author_api
from chalicelib.dailybot.errors import DailybotError, NotFound, RateLimited
from tests.servers import ROOT

AUTHOR_API = [
    "Activity",
    "ActivityRecord",
    "Button",
    "Context",
    "DailybotError",
    "DeliveryKind",
    "EventCallback",
    "Events",
    "InvalidDeclaration",
    "InvalidDeferral",
    "InvalidReply",
    "JSONValue",
    "Messages",
    "NotFound",
    "Organization",
    "OutgoingMessage",
    "RateLimited",
    "Reply",
    "ScheduleOptions",
    "ScheduleSpec",
    "ScheduledExecution",
    "ScheduledRun",
    "Schedules",
    "Storage",
    "User",
    "command",
    "event",
    "job",
    "scheduled",
]


def test_the_author_api_is_exactly_what_commands_import() -> None:
    assert sorted(author_api.__all__) == AUTHOR_API
    for name in AUTHOR_API:
        assert getattr(author_api, name) is not None
    # The platform errors a handler may catch, from the same place.
    assert issubclass(author_api.NotFound, author_api.DailybotError)
    assert (author_api.DailybotError, author_api.NotFound, author_api.RateLimited) == (
        DailybotError,
        NotFound,
        RateLimited,
    )


def test_every_shipped_command_imports_only_the_author_api() -> None:
    for module in sorted((ROOT / "chalicelib" / "commands").glob("*.py")):
        if module.name == "__init__.py":
            continue
        ours = {i for i in _imports(module) if i.split(".")[0] == "chalicelib"}
        assert ours <= {"chalicelib.runtime"}, module.name


def test_the_readme_s_handler_examples_import_only_the_author_api() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    examples = [b for b in blocks if re.search(r"@(command|event|scheduled|job)\(", b)]
    assert len(examples) >= 2
    for example in examples:
        ours = {i for i in _imports_of(example) if i.split(".")[0] == "chalicelib"}
        assert ours == {"chalicelib.runtime"}, example


def test_imports_point_down() -> None:
    for module in _modules("chalicelib/runtime", "chalicelib/dailybot"):
        assert not any(i.startswith("chalicelib.commands") for i in _imports(module)), module
    for module in _modules("chalicelib"):
        relative = module.relative_to(ROOT).as_posix()
        if relative == "chalicelib/runtime/intake/chalice_adapter.py":
            continue
        assert not any(i.split(".")[0] == "chalice" for i in _imports(module)), relative
    for module in _modules("chalicelib/dailybot"):
        assert not any(i.startswith("chalicelib.runtime") for i in _imports(module)), module


def test_the_runtime_keeps_a_small_top_level() -> None:
    top = list((ROOT / "chalicelib" / "runtime").glob("*.py"))
    assert len(top) <= 10, sorted(p.name for p in top)


def _modules(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def _imports(module: Path) -> set[str]:
    return _imports_of(module.read_text())


def _imports_of(source: str) -> set[str]:
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names
