"""``/v1/platform/storage/``: get, set and delete JSON values by key.

A request with ``namespace`` is scoped to (the API key's organization, namespace), even when a
token is also sent; with only a token it is scoped to the token's command in its organization.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.access import Caller
from emulator.database import Database
from emulator.errors import coded, invalid
from emulator.state import EmulatorState
from emulator.validation import MISSING, json_object, text

MAX_VALUE_BYTES = 64 * 1024
MAX_KEY_LENGTH = 255
OPERATIONS = ("get", "set", "delete")


async def storage_operation(request: Request, state: EmulatorState, caller: Caller) -> Response:
    body = await json_object(request)
    scope = _scope(body, caller)
    op = body.get("op")
    if op not in OPERATIONS:
        raise invalid("'op' must be one of get, set, delete.")
    params = body.get("params")
    if not isinstance(params, dict):
        raise invalid("'params' must be a JSON object.")
    key = params.get("key")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise invalid(f"'params.key' must be a non-empty string of at most {MAX_KEY_LENGTH}.")
    if op == "get":
        return JSONResponse({key: _read(state, scope, key)})
    if op == "set":
        _write(state, scope, key, params)
    else:
        state.database.execute("DELETE FROM storage WHERE scope = ? AND key = ?", (scope, key))
    state.announcer.storage(scope, key)
    return JSONResponse({})


def _scope(body: dict[str, Any], caller: Caller) -> str:
    namespace = text(body, "namespace", nullable=True)
    if namespace not in (MISSING, None):
        return namespace_scope(caller.key.organization_uuid, namespace)
    if caller.grant is not None:
        return command_scope(caller.grant.organization_uuid, caller.grant.command_uuid)
    raise coded(
        400,
        "You must provide either a valid exchange token or a namespace parameter",
        "missing_context",
    )


def namespace_scope(organization_uuid: str, namespace: str) -> str:
    """The storage of one namespace of an organization (the API key's)."""
    return f"namespace:{organization_uuid}:{namespace}"


def command_scope(organization_uuid: str, command_uuid: str) -> str:
    """The storage a command's users of one organization share (no namespace)."""
    return f"command:{organization_uuid}:{command_uuid}"


def scope_values(database: Database, scope: str) -> dict[str, Any]:
    """Everything stored in ``scope``, by key (in key order)."""
    rows = database.all("SELECT key, value FROM storage WHERE scope = ? ORDER BY key", (scope,))
    return {row["key"]: json.loads(row["value"]) for row in rows}


def _read(state: EmulatorState, scope: str, key: str) -> Any:
    row = state.database.one("SELECT value FROM storage WHERE scope = ? AND key = ?", (scope, key))
    return None if row is None else json.loads(row["value"])


def _write(state: EmulatorState, scope: str, key: str, params: dict[str, Any]) -> None:
    if "value" not in params:
        raise invalid("'params.value' is required for set.")
    encoded = json.dumps(params["value"], ensure_ascii=False)
    if len(encoded.encode("utf-8")) > MAX_VALUE_BYTES:
        raise invalid("'params.value' must be at most 64 KiB of JSON.")
    state.database.execute(
        "INSERT INTO storage (scope, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value",
        (scope, key, encoded),
    )
