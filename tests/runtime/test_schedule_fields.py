"""A scheduled execution's fields are defined once (`ScheduleSpec`): every other list of them
derives from it, and these tests fail when one drifts or a new hand-written list appears."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path
from typing import Any, Unpack, get_type_hints

import pytest

from chalicelib.dailybot import wire
from chalicelib.dailybot.models import (
    SCHEDULE_DEFAULTS,
    SCHEDULE_FIELD_KINDS,
    SCHEDULE_FIELDS,
    UPDATABLE_SCHEDULE_FIELDS,
    ScheduledExecution,
    ScheduleOptions,
    ScheduleSpec,
)
from chalicelib.runtime.context import Schedules
from chalicelib.runtime.declarations import DECLARED_DEFAULTS, ScheduleDeclaration
from chalicelib.runtime.registry import CommandRegistry
from testkit.records import Schedule
from tests.servers import ROOT

OPTIONS = tuple(name for name in SCHEDULE_FIELDS if name != "name")
# Where the fields are defined (and repeated for keyword arguments, checked below).
DEFINITION = ROOT / "chalicelib" / "dailybot" / "models.py"
SCANNED = ("chalicelib", "testkit", "devstack", "app.py")


def sample(name: str) -> Any:
    """A value of the field's type that is no default of it."""
    kind = SCHEDULE_FIELD_KINDS[name]
    return {str: f"value of {name}", int: 7, bool: True, dict: {"from": name}}[kind]


def test_the_keyword_arguments_are_the_spec_fields_with_the_same_types() -> None:
    spec = get_type_hints(ScheduleSpec)
    assert get_type_hints(ScheduleOptions) == {name: spec[name] for name in OPTIONS}
    assert tuple(ScheduleOptions.__annotations__) == OPTIONS


def test_scheduled_and_schedules_create_take_exactly_those_options() -> None:
    # What a declaration adds that is not the platform's (where it is registered) is the only
    # other keyword.
    for function, own in ((CommandRegistry.scheduled, {"owner_only"}), (Schedules.create, set())):
        hints = get_type_hints(function)
        assert hints["options"] == Unpack[ScheduleOptions], function
        assert set(hints) == {"name", "options", "return", *own}, function


def test_defaults_name_only_spec_fields() -> None:
    assert set(SCHEDULE_DEFAULTS) <= set(OPTIONS)
    assert set(DECLARED_DEFAULTS) <= set(OPTIONS)
    assert set(UPDATABLE_SCHEDULE_FIELDS) == set(SCHEDULE_FIELDS) - {"is_owned_by_user"}


@pytest.mark.parametrize("kind", [ScheduledExecution, ScheduleDeclaration, Schedule])
def test_every_kind_of_schedule_has_every_spec_field(kind: type) -> None:
    assert [f.name for f in fields(kind)][: len(SCHEDULE_FIELDS)] == list(SCHEDULE_FIELDS)
    assert issubclass(kind, ScheduleSpec)


def test_a_get_answer_is_read_field_by_field() -> None:
    body = {name: sample(name) for name in SCHEDULE_FIELDS} | {"uuid": "u1", "is_active": False}

    seen = wire.scheduled_execution_from(body)

    assert seen.as_dict() == {name: sample(name) for name in SCHEDULE_FIELDS}
    assert (seen.uuid, seen.is_active) == ("u1", False)


def test_a_get_answer_without_the_optional_fields_holds_the_platform_defaults() -> None:
    seen = wire.scheduled_execution_from({"uuid": "u1", "name": "digest"})

    assert seen.as_dict() == {
        name: SCHEDULE_DEFAULTS.get(name)
        for name in OPTIONS  # type: ignore[misc]
    } | {"name": "digest"}


def test_a_create_body_carries_every_field_that_is_set() -> None:
    spec = ScheduleSpec(**{name: sample(name) for name in SCHEDULE_FIELDS})

    body = wire.schedule_body(spec, command_uuid=None)

    assert body == {name: sample(name) for name in SCHEDULE_FIELDS}


def test_a_declaration_declares_every_field_but_the_deployment_s_callback() -> None:
    declaration = ScheduleDeclaration("digest", cron="0 9 * * *")

    assert tuple(declaration.fields()) == tuple(n for n in SCHEDULE_FIELDS if n != "callback_url")
    spec = declaration.to_spec("https://x/dailybot")
    assert type(spec) is ScheduleSpec
    assert spec.as_dict() == declaration.fields() | {"callback_url": "https://x/dailybot"}


def _names_listed(node: ast.AST) -> set[str]:
    """The names a node lists side by side: parameters, keywords, dict keys, class fields."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = node.args
        return {a.arg for a in [*arguments.args, *arguments.kwonlyargs]}
    if isinstance(node, ast.Call):
        return {k.arg for k in node.keywords if k.arg}
    if isinstance(node, ast.Dict):
        return {
            k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    if isinstance(node, ast.ClassDef):
        return {
            s.target.id
            for s in node.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        }
    return set()


def _sources() -> list[Path]:
    found: list[Path] = []
    for entry in SCANNED:
        path = ROOT / entry
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [path for path in found if path != DEFINITION]


def _typed_options(tree: ast.AST) -> set[int]:
    """Dicts assigned to a name annotated `ScheduleOptions`: the type checker checks those."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and "ScheduleOptions" in ast.unparse(node.annotation)
    }


def test_no_other_module_lists_the_schedule_fields_by_hand() -> None:
    listed = []
    for path in _sources():
        tree = ast.parse(path.read_text())
        checked = _typed_options(tree)
        for node in ast.walk(tree):
            if id(node) in checked:
                continue
            names = _names_listed(node) & set(OPTIONS)
            if len(names) >= 3:
                listed.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    assert listed == []


def test_the_scan_finds_a_hand_written_list() -> None:
    written = "def create(name, *, cron=None, repeats=None, payload=None): ..."
    (node,) = ast.parse(written).body
    assert _names_listed(node) & set(OPTIONS) == {"cron", "repeats", "payload"}
