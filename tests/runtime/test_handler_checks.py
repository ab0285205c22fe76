"""The decorators' mistakes are caught at import with the handler's name and the fix: a bare
decorator, a name registered twice, a handler that cannot take the context or cannot return
a reply."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import pytest

from chalicelib.runtime import Reply
from chalicelib.runtime.declarations import InvalidDeclaration
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.runtime.replies import ReplyLike
from tests.servers import ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping

HERE = __name__


def remember(ctx: object) -> str:
    return "ok"


def test_a_bare_command_decorator_says_to_add_the_intent() -> None:
    registry = CommandRegistry()

    with pytest.raises(InvalidDeclaration) as raised:
        registry.command(remember)  # type: ignore[arg-type]  # what a bare @command does

    assert str(raised.value) == (
        "@command needs parentheses and a name: write @command('remember') above"
        f" def remember(...), not a bare @command (on {HERE}.remember)"
    )


@pytest.mark.parametrize(
    ("decorator", "example"),
    [
        ("event", "@event('kudos.posted')"),
        ("scheduled", "@scheduled('daily-digest', cron='0 9 * * 1-5')"),
        ("job", "@job('build-report')"),
    ],
)
def test_every_bare_decorator_says_how_to_write_it(decorator: str, example: str) -> None:
    with pytest.raises(InvalidDeclaration, match=f"write {re.escape(example)} above"):
        getattr(CommandRegistry(), decorator)(remember)


def test_a_name_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidDeclaration, match="takes the name as text"):
        CommandRegistry().command(7)  # type: ignore[arg-type]


def test_an_intent_registered_twice_names_both_handlers() -> None:
    registry = CommandRegistry()
    registry.command("remember")(remember)

    def other_remember(ctx: object) -> str:
        return "again"

    with pytest.raises(InvalidDeclaration) as raised:
        registry.command("REMEMBER")(other_remember)

    assert str(raised.value) == (
        f"command 'remember' is registered twice: by {HERE}.remember and by"
        f" {HERE}.{other_remember.__qualname__}; rename one of them"
    )


def test_events_schedules_and_jobs_registered_twice_name_both() -> None:
    registry = CommandRegistry()
    registry.event("kudos.posted")(remember)
    registry.scheduled("digest", cron="0 9 * * *")(remember)
    registry.job("build")(remember)

    for register in (
        registry.event("KUDOS_POSTED"),
        registry.scheduled("digest"),
        registry.job("build"),
    ):
        with pytest.raises(InvalidDeclaration, match=f"twice: by {HERE}.remember and by"):
            register(_annotated_reply)


def _annotated_reply(ctx: object) -> Reply:
    return Reply("x")


def _returns_dict(ctx: object) -> dict[str, str]:
    return {"message": "x"}


def _returns_int_or_str(ctx: object) -> int | str:
    return "x"


def _returns_list(ctx: object) -> list[str]:
    return []


@pytest.mark.parametrize(
    ("handler", "shown"),
    [(_returns_dict, "dict[str, str]"), (_returns_int_or_str, "int | str"), (_returns_list, "")],
)
def test_a_handler_annotated_to_return_what_is_not_a_reply_is_refused(
    handler: Any, shown: str
) -> None:
    for register in (
        CommandRegistry().command("poll"),
        CommandRegistry().event("kudos.posted"),
        CommandRegistry().scheduled("digest"),
    ):
        with pytest.raises(InvalidDeclaration) as raised:
            register(handler)
        message = str(raised.value)
        assert f" on {HERE}.{handler.__name__} is annotated to return " in message
        assert shown in message
        assert "which is not a reply: return a str or a Reply (or None" in message


def _str(ctx: object) -> str:
    return "x"


def _optional(ctx: object) -> str | None:
    return None


def _reply_like(ctx: object) -> ReplyLike:
    return "x"


def _literal(ctx: object) -> Literal["yes", "no"]:
    return "yes"


def _any(ctx: object) -> Any:
    return "x"


def _never(ctx: object) -> NoReturn:
    raise RuntimeError


def _none(ctx: object) -> None:
    return None


def _unannotated(ctx):  # type: ignore[no-untyped-def]
    return "x"


def _unresolvable(ctx: object) -> Mapping[str, str]:  # only imported for type checkers
    return {}


@pytest.mark.parametrize(
    "handler",
    [_str, _optional, _reply_like, _literal, _any, _never, _none, _annotated_reply, _unannotated],
)
def test_handlers_that_may_return_a_reply_are_taken(handler: Any) -> None:
    registry = CommandRegistry()
    registry.command("poll")(handler)
    assert registry.command_for("poll") is handler


def test_an_annotation_that_cannot_be_resolved_is_left_to_run_time() -> None:
    registry = CommandRegistry()
    registry.command("poll")(_unresolvable)
    assert registry.command_for("poll") is _unresolvable


def test_a_coroutine_function_is_refused() -> None:
    async def poll(ctx: object) -> str:
        return "x"

    with pytest.raises(InvalidDeclaration, match="poll: handlers run as plain functions; remove"):
        CommandRegistry().command("poll")(poll)


def test_a_handler_that_cannot_take_the_context_is_refused() -> None:
    def no_context() -> str:
        return "x"

    def two_arguments(ctx: object, other: str) -> str:
        return other

    for handler in (no_context, two_arguments):
        with pytest.raises(InvalidDeclaration, match="runtime calls it with the context: def"):
            CommandRegistry().command("poll")(handler)


def build(ctx: object, *, period: str) -> str:
    return period


def keywords_only(*, period: str) -> str:
    return period


def test_a_job_takes_the_context_then_its_keyword_arguments() -> None:
    registry = CommandRegistry()
    registry.job("build")(build)
    assert registry.job_named("build") is build
    with pytest.raises(InvalidDeclaration, match=r"def name\(ctx: Context, \*\*arguments\)"):
        registry.job("other")(keywords_only)
    with pytest.raises(InvalidDeclaration, match="not a reply"):
        registry.job("third")(_returns_dict)


def test_the_deployed_code_checks_declarations_without_a_cron_library() -> None:
    # The function's package has httpx, Powertools and the X-Ray SDK: no croniter.
    done = subprocess.run(
        [sys.executable, "-c", "import sys, app; print('croniter' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"


T = TypeVar("T")


def _generic(ctx: T) -> T:
    return ctx


def test_what_is_not_a_function_or_is_generic() -> None:
    with pytest.raises(InvalidDeclaration, match="@command\\('poll'\\) decorates a function, not"):
        CommandRegistry().command("poll")("not a function")  # type: ignore[type-var]
    registry = CommandRegistry()
    registry.command("poll")(_generic)  # a type variable may be a reply: left to run time
    assert registry.command_for("poll") is _generic
