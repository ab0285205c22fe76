"""Reading request bodies and checking their fields, answering 400 ``details`` when they are bad."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request

from emulator.errors import invalid

MISSING: Any = object()


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as ``{}`` when ``optional``."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return {}
        raise invalid("Request body must be a JSON object.")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
        # Lone surrogates parse but can be neither stored nor answered: refuse them here.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad JSON, bad UTF-8, NaN/Infinity and over-long integers.
        raise invalid("Request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object.")
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def text(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    nullable: bool = False,
    max_length: int = 255,
) -> Any:
    """A non-empty string field; ``MISSING`` when absent and not required."""
    value = body.get(name, MISSING)
    if value is MISSING:
        if required:
            raise invalid(f"'{name}' is required.")
        return MISSING
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{name}' must be a non-empty string.")
    if len(value) > max_length:
        raise invalid(f"'{name}' must be at most {max_length} characters.")
    return value


def integer(body: dict[str, Any], name: str, *, minimum: int, maximum: int = 2**31) -> Any:
    value = body.get(name, MISSING)
    if value is MISSING:
        return MISSING
    # bool is an int in Python, but JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"'{name}' must be an integer.")
    if not minimum <= value <= maximum:
        raise invalid(f"'{name}' must be between {minimum} and {maximum}.")
    return value


def boolean(body: dict[str, Any], name: str) -> Any:
    value = body.get(name, MISSING)
    if value is MISSING:
        return MISSING
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be true or false.")
    return value


def json_object_field(body: dict[str, Any], name: str, *, nullable: bool = False) -> Any:
    value = body.get(name, MISSING)
    if value is MISSING or (value is None and nullable):
        return value
    if not isinstance(value, dict):
        raise invalid(f"'{name}' must be a JSON object.")
    return value


def string_list(body: dict[str, Any], name: str, *, required: bool = False) -> Any:
    value = body.get(name, MISSING)
    if value is MISSING:
        if required:
            raise invalid(f"'{name}' is required.")
        return MISSING
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(f"'{name}' must be a list of strings.")
    return value


def uuid_text(value: Any) -> str | None:
    """The canonical form of a UUID string, or ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def query_limit(request: Request, *, maximum: int = 10_000) -> int | None:
    """The ``limit`` query parameter: a whole number from 1 to ``maximum``, or ``None``."""
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise invalid(f"'limit' must be a whole number from 1 to {maximum}.")
    return int(raw)
