"""The OpenAPI description of what the playground follows: the change stream, the timeline,
the inspector, replays, new users, storage previews, event examples and the whole state.

Part of ``/openapi.json`` (``emulator.openapi`` merges it); the refusals every control call may
get from the guard (403 for a foreign host or origin, 415 for a write that is not JSON) are
described once, as ``Refusal``.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


ANYTHING: dict[str, Any] = {"type": "object"}
VALIDATION = _json(_ref("ValidationError"), "Invalid request.")
ERROR = _json(_ref("Error"), "An error with a code.")
REFUSED = _json(_ref("Refusal"), "A foreign host or origin, or a write that is not JSON.")

LIVE_SCHEMAS: dict[str, Any] = {
    "Refusal": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"],
    },
    "Replay": {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["as_it_was", "edited"]},
            "body": {
                "type": "object",
                "nullable": True,
                "description": "The edited delivery (mode edited); its exchange token and "
                "event_timestamp are replaced.",
            },
        },
        "required": ["mode"],
    },
    "NewUser": {
        "type": "object",
        "properties": {
            "organization_uuid": {"type": "string", "format": "uuid"},
            "full_name": {"type": "string", "minLength": 1, "maxLength": 100, "nullable": True},
        },
        "required": ["organization_uuid"],
    },
    "Timeline": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ANYTHING},
            "earlier": {"type": "integer", "nullable": True},
            "seq": {"type": "integer"},
            "timeline_id": {"type": "string"},
        },
    },
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _get(summary: str, answer: dict[str, Any], parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "parameters": parameters,
        "responses": {"200": answer, "400": VALIDATION, "403": REFUSED, "404": ERROR},
    }


def _post(summary: str, body: str, answer: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "requestBody": {"required": True, "content": {JSON: {"schema": _ref(body)}}},
        "responses": {
            status: answer,
            "400": VALIDATION,
            "403": REFUSED,
            "404": ERROR,
            "409": ERROR,
            "415": REFUSED,
        },
    }


SEQ = {"type": "integer", "minimum": 0}
UUID = {"type": "string", "format": "uuid"}


def live_paths() -> dict[str, Any]:
    conversation = [
        _query("organization_uuid", UUID, "Only this organization's items."),
        _query("user_uuid", UUID, "Only what this user sees."),
        _query("after", SEQ, "Only items after this seq (a conversation's start)."),
        _query("before", SEQ, "Only items before this seq (earlier ones)."),
        _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "At most this many."),
    ]
    inspector = [
        _query(
            "kind",
            {"type": "string", "example": "invocation,platform_call"},
            "Kinds, comma-separated.",
        ),
        _query(
            "subject", {"type": "string"}, "Part of the intent, event or schedule name, any case."
        ),
        _query(
            "status", {"type": "string", "example": "4xx"}, "2xx..5xx, none, pending, or a code."
        ),
        _query("organization_uuid", UUID, "Only this organization's."),
        _query("before", {"type": "string", "pattern": "^[0-9]*$"}, "Only rows before this seq."),
        _query(
            "limit", {"type": "integer", "minimum": 0, "maximum": 500}, "At most this many rows."
        ),
    ]
    listed = _json({"type": "object"}, "The answer.")
    return {
        "/_emulator/stream": {
            "get": {
                "summary": "Changes as server-sent events (hello, item, call, storage, ...)",
                "security": [],
                "responses": {"200": {"description": "text/event-stream, never ending."}},
            }
        },
        "/_emulator/timeline": {
            "get": _get(
                "A conversation's items, oldest first",
                _json(_ref("Timeline"), "Items."),
                conversation,
            )
        },
        "/_emulator/timeline/{item_id}": {
            "get": _get(
                "One item (run:..., occurrence:..., message:...)",
                listed,
                [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
        "/_emulator/inspector": {
            "get": _get("Deliveries and platform calls, newest first, filtered", listed, inspector)
        },
        "/_emulator/deliveries/{delivery_id}/replay": {
            "parameters": [
                {
                    "name": "delivery_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "post": _post(
                "Send a delivery again, as it was (a redelivery) or edited (a new delivery)",
                "Replay",
                _json(_ref("InvokeResult"), "What the command answered."),
            ),
        },
        "/_emulator/users": {
            "post": _post("Add a user the command has never met", "NewUser", listed, "201")
        },
        "/_emulator/storage/entries": {
            "get": _get(
                "Stored keys with a preview and the size of each value",
                listed,
                [
                    _query("after_scope", {"type": "string"}, "The page after this scope..."),
                    _query("after_key", {"type": "string"}, "...and key."),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}, "Keys."),
                ],
            )
        },
        "/_emulator/storage/value": {
            "get": _get(
                "One stored value, whole",
                listed,
                [
                    _query("scope_id", {"type": "string"}, "As the entries name it."),
                    _query("key", {"type": "string"}, "The key."),
                ],
            )
        },
        "/_emulator/event-examples": {
            "get": _get(
                "An example body for every event",
                listed,
                [_query("organization_uuid", UUID, "The organization whose users it names.")],
            )
        },
        "/_emulator/state": {
            "get": _get("The whole state, as --export-on-exit writes it", listed, [])
        },
    }
