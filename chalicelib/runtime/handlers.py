"""What a handler must be, checked when it is registered: a plain function of the context
whose return annotation, when it has one, can be a reply.

The runtime calls `handler(ctx)` (a job: `job(ctx, **arguments)`) on a worker thread and
turns what it returns into the reply (`replies.as_reply`: a `str`, a `Reply` or None). A
function that cannot be called that way, a coroutine function, or one annotated to return
something else (a `dict`, say) would fail on every delivery; here it fails at import, with
the handler's name and the fix. A handler without a return annotation, or whose annotation
names something that cannot be resolved, is checked when it runs, as before.
"""

from __future__ import annotations

import inspect
import typing
from types import NoneType, UnionType
from typing import Any, Final

from chalicelib.runtime.declarations import InvalidDeclaration
from chalicelib.runtime.replies import Reply

_ANY_VALUE: Final = (Any, object)
_NEVER_RETURNS: Final = (typing.NoReturn, typing.Never)


def qualified_name(handler: object) -> str:
    """`module.function` of a handler, as messages name it."""
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"


def check_handler(handler: object, decorator: str, *, job: bool = False) -> None:
    """Raises `InvalidDeclaration` when `handler` cannot be what `decorator` registers."""
    where = f"{decorator} on {qualified_name(handler)}"
    if not callable(handler):
        raise InvalidDeclaration(f"{decorator} decorates a function, not {handler!r}")
    if inspect.iscoroutinefunction(handler):
        raise InvalidDeclaration(
            f"{where}: handlers run as plain functions; remove `async` (the platform calls"
            " inside it are already bound to the delivery)"
        )
    if not _takes_the_context(handler, job=job):
        shape = "(ctx: Context, **arguments)" if job else "(ctx: Context)"
        raise InvalidDeclaration(f"{where}: the runtime calls it with the context: def name{shape}")
    annotation = _return_annotation(handler)
    if annotation is not _UNKNOWN and not can_be_a_reply(annotation):
        raise InvalidDeclaration(
            f"{where} is annotated to return {_type_name(annotation)}, which is not a reply:"
            " return a str or a Reply (or None to say nothing), e.g. `-> str`"
        )


def can_be_a_reply(annotation: object) -> bool:
    """Whether a value of this return annotation may be a reply (`str`, `Reply` or None)."""
    if annotation in _ANY_VALUE or annotation in _NEVER_RETURNS or annotation in (None, NoneType):
        return True
    origin = typing.get_origin(annotation)
    if isinstance(annotation, UnionType) or origin is typing.Union:
        return all(can_be_a_reply(member) for member in typing.get_args(annotation))
    if origin is typing.Literal:
        return all(value is None or isinstance(value, str) for value in typing.get_args(annotation))
    if isinstance(annotation, typing.TypeVar):
        return True
    return isinstance(annotation, type) and issubclass(annotation, str | Reply)


class _Unknown:
    """No return annotation, or one that names what cannot be resolved here."""


_UNKNOWN: Final = _Unknown()


def _return_annotation(handler: Any) -> object:
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # a name imported only for type checkers, say
        return _UNKNOWN
    return hints.get("return", _UNKNOWN)


def _takes_the_context(handler: Any, *, job: bool) -> bool:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):  # a callable Python cannot describe: checked when it runs
        return True
    try:
        # A job's other parameters are its keyword arguments, given when it is deferred.
        (signature.bind_partial if job else signature.bind)(object())
    except TypeError:
        return False
    return True


def _type_name(annotation: object) -> str:
    # A plain class by its name; `dict[str, str]` or `int | str` as written.
    return annotation.__name__ if type(annotation) is type else str(annotation)
