"""Every type a handler receives or passes is importable from `chalicelib.runtime`, found from
the signatures themselves: `Context`'s attributes, its facades' methods, and what handlers and
jobs return."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Iterator
from types import ModuleType

import chalicelib.runtime as author_api
from chalicelib.runtime.context import Context, PlatformSession
from chalicelib.runtime.intake.delivery import Delivery, DeliveryKind
from chalicelib.runtime.registry import Handler, JobFunction
from tests.servers import ROOT

# The runtime's own packages: a type defined in one of them is the author API's to export.
OURS = "chalicelib."


def _classes(annotation: object) -> Iterator[type]:
    """Every class an annotation mentions (`list[ActivityRecord] | None` -> list, ...)."""
    if isinstance(annotation, type):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _classes(argument)
    origin = typing.get_origin(annotation)
    if isinstance(origin, type):
        yield origin


def _signature_classes(function: object) -> Iterator[type]:
    hints = typing.get_type_hints(function)
    for annotation in hints.values():
        yield from _classes(annotation)


def _members(value: object) -> Iterator[tuple[str, object]]:
    for name in dir(value):
        if not name.startswith("_"):
            yield name, inspect.getattr_static(value, name)


def _handler_facing(context: Context) -> set[type]:
    """Every class in the signatures of what a handler touches through its context."""
    found: set[type] = set()
    for name, member in _members(context):
        if isinstance(member, property):
            found |= set(_signature_classes(member.fget))
        elif callable(member) and not isinstance(member, type):
            found |= set(_signature_classes(getattr(context, name)))
        else:
            found.add(type(getattr(context, name)))
    facades = {kind for kind in found if kind.__module__ == Context.__module__}
    for facade in facades:
        for _, member in _members(facade):
            if callable(member):
                found |= set(_signature_classes(member))
    # What handlers and jobs return.
    for annotation in (Handler, JobFunction):
        found |= set(_classes(annotation))
    return found


def _exported(module: ModuleType) -> set[type]:
    return {value for value in vars(module).values() if isinstance(value, type)}


def _context() -> Context:
    delivery = Delivery(
        kind=DeliveryKind.COMMAND,
        identity="id",
        sent_at=0.0,
        organization_uuid="org",
        user_uuid="user",
    )
    session = PlatformSession(client=None, tokens=None, deadline=None)  # type: ignore[arg-type]
    return Context(delivery, session)


def test_every_type_in_the_handler_s_signatures_comes_from_the_author_api() -> None:
    ours = {kind for kind in _handler_facing(_context()) if kind.__module__.startswith(OURS)}
    missing = sorted(
        f"{kind.__module__}.{kind.__qualname__}" for kind in ours - _exported(author_api)
    )
    assert missing == []
    assert {"OutgoingMessage", "ActivityRecord", "ScheduledExecution", "User"} <= {
        kind.__name__ for kind in ours
    }


def test_the_exported_types_are_in_all() -> None:
    exported = {name for name, value in vars(author_api).items() if isinstance(value, type)}
    assert exported - {"Final"} <= set(author_api.__all__)


def test_the_readme_s_context_table_lists_every_attribute() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("The `Context` a handler gets", 1)[1].split("\n\n", 2)[1]
    # The first column's names, without what a parenthesis says about them.
    first_column = [re.sub(r"\([^)]*\)", "", row.split(" | ")[0]) for row in table.splitlines()]
    listed = {name for cell in first_column[2:] for name in re.findall(r"`([a-z_]+)`", cell)}
    public = {name for name, _ in _members(_context())}
    assert listed == public


def test_platform_json_values_have_a_recursive_type_not_any() -> None:
    # mypy --strict checks every use against it; `Any` would let anything through.
    from typing import Any

    from chalicelib.dailybot import models

    assert models.JSONValue is not Any
    assert "Mapping[str, JSONValue] | Sequence[JSONValue]" in str(models.JSONValue)
