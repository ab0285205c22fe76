"""The OpenAPI 3.0 description served at ``/openapi.json``: the platform API and the control API."""

from __future__ import annotations

from typing import Any

from emulator.event_names import EVENT_NAMES
from emulator.openapi_live import LIVE_SCHEMAS, live_paths

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": schema}}}


ERROR = _json(_ref("Error"), "An error with a code.")
VALIDATION = _json(_ref("ValidationError"), "Invalid request.")
UNAUTHENTICATED = _json(_ref("Error"), "Missing or unknown API key, or a bad exchange token.")
THROTTLED = _json(_ref("Error"), "Rate limited; see Retry-After.")
PLATFORM_ERRORS = {"401": UNAUTHENTICATED, "429": THROTTLED}

# Minute, hour, day of month (to 28, so every month has it), month, day of week (or a range).
CRON_PATTERN = (
    r"^(\*|[0-5]?[0-9]) (\*|1?[0-9]|2[0-3]) (\*|[1-9]|1[0-9]|2[0-8]) (\*|[1-9]|1[0-2])"
    r" (\*|[0-6](-[0-6])?)$"
)

SCHEDULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    "cron": {
        "type": "string",
        "nullable": True,
        "example": "0 9 * * 1-5",
        "description": "Five fields, read by croniter in the schedule's time zone. The pattern "
        "is the plain numeric subset; the emulator accepts anything croniter reads that fires.",
        "pattern": CRON_PATTERN,
    },
    "execution_frequency": {"type": "integer", "minimum": 0, "default": 0},
    "repeats": {"type": "integer", "minimum": -1, "default": -1},
    "payload": {"type": "object", "default": {}},
    "timezone_type": {
        "type": "string",
        "enum": ["organization_timezone", "user_timezone"],
        "default": "organization_timezone",
    },
    "callback_url": {
        "type": "string",
        "format": "uri",
        "nullable": True,
        "maxLength": 2048,
        "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
    },
}

SHOUTED_EVENT_NAMES = [name.upper().replace(".", "_") for name in EVENT_NAMES]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "properties": {"details": {"type": "string"}},
        "required": ["details"],
    },
    "ScheduleCreate": {
        "type": "object",
        "properties": {
            **SCHEDULE_FIELDS,
            "command_uuid": {"type": "string", "format": "uuid"},
            "is_owned_by_user": {"type": "boolean", "default": True},
        },
        "required": ["name"],
    },
    "ScheduleUpdate": {
        "type": "object",
        "properties": {**SCHEDULE_FIELDS, "is_active": {"type": "boolean"}},
    },
    "Schedule": {
        "type": "object",
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            **SCHEDULE_FIELDS,
            "is_active": {"type": "boolean"},
        },
    },
    "StorageRequest": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": ["get", "set", "delete"]},
            "params": {
                "type": "object",
                "properties": {"key": {"type": "string", "minLength": 1}, "value": {}},
                "required": ["key"],
            },
            "namespace": {"type": "string"},
        },
        "required": ["op", "params"],
    },
    "EventSubscription": {
        "type": "object",
        "properties": {
            "subscriptions": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": [*EVENT_NAMES, *SHOUTED_EVENT_NAMES]},
            },
            "subscribed_objects": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["subscriptions"],
    },
    "ActivityCreate": {
        "type": "object",
        "properties": {
            "category": {"type": "string", "minLength": 1},
            "action": {"type": "string", "minLength": 1},
            "label": {"type": "string", "nullable": True},
            "metadata": {"type": "object"},
            "user_uuid": {"type": "string", "format": "uuid"},
        },
        "required": ["category", "action"],
    },
    "Activity": {
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "organization": {"type": "string"},
            "user": {"type": "string", "nullable": True},
            "category": {"type": "string"},
            "action": {"type": "string"},
            "label": {"type": "string", "nullable": True},
            "metadata": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "FetchToken": {
        "type": "object",
        "properties": {
            "user_uuid": {"type": "string", "format": "uuid"},
            "include_user_context": {"type": "boolean"},
        },
        "required": ["user_uuid"],
    },
    "SendMessage": {
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1},
            "image_url": {"type": "string"},
            "buttons": {"type": "array", "items": {"type": "object"}},
            "target_users": {"type": "array", "items": {"type": "string"}},
            "target_channels": {"type": "array", "items": {"type": "string"}},
            "target_teams": {"type": "array", "items": {"type": "string"}},
            "exchange_token": {"type": "string"},
        },
        "required": ["message"],
    },
}

CONTROL_SCHEMAS: dict[str, Any] = {
    "Empty": {"type": "object", "description": "Any body; it is not read."},
    "Invoke": {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "minLength": 1, "example": "remember"},
            "query": {"type": "string", "maxLength": 4000, "default": ""},
            "user_uuid": {"type": "string", "format": "uuid", "nullable": True},
            "organization_uuid": {"type": "string", "format": "uuid", "nullable": True},
        },
        "required": ["intent"],
    },
    "ClockAdvance": {
        "type": "object",
        "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 366 * 24 * 3600}},
        "required": ["seconds"],
    },
    "PublishEvent": {
        "type": "object",
        "properties": {
            "organization_uuid": {"type": "string", "format": "uuid"},
            "event": {"type": "string", "enum": [*EVENT_NAMES, *SHOUTED_EVENT_NAMES]},
            "body": {"type": "object", "default": {}},
            "subscribed_object": {"type": "string", "nullable": True},
            "results": {
                "type": "boolean",
                "default": False,
                "description": "Also answer what each hook's command answered.",
            },
        },
        "required": ["organization_uuid", "event"],
    },
    "Fault": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "pattern": "^/", "example": "/v1/platform/storage/"},
            "status": {"type": "integer", "enum": [429, 500, 503], "nullable": True},
            "times": {"type": "integer", "minimum": 0, "maximum": 10_000, "default": 1},
            "retry_after": {"type": "integer", "minimum": 0, "maximum": 86_400, "default": 1},
            "delay_ms": {"type": "integer", "minimum": 0, "maximum": 60_000, "default": 0},
        },
        "required": ["path"],
    },
    "InvokeResult": {
        "type": "object",
        "properties": {
            "status_code": {"type": "integer", "nullable": True},
            "reply": {},
            "elapsed_ms": {"type": "number"},
            "error": {"type": "string"},
            "delivery_id": {"type": "string", "description": "The run, in the timeline."},
            "correlation_id": {
                "type": "string",
                "nullable": True,
                "description": "The X-Correlation-Id the command answered with.",
            },
        },
        "required": ["status_code", "reply", "elapsed_ms"],
    },
    "ClockState": {
        "type": "object",
        "properties": {
            "now": {"type": "string", "format": "date-time"},
            "clock": {"type": "string", "enum": ["real", "virtual"]},
            "fired": {"type": "integer"},
        },
        "required": ["now"],
    },
    "Delivery": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "delivery_id": {"type": "string"},
            "kind": {"type": "string", "enum": ["invocation", "event", "scheduled_execution"]},
            "url": {"type": "string"},
            "attempt": {"type": "integer", "minimum": 1},
            "status": {"type": "integer", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "subject": {
                "type": "string",
                "nullable": True,
                "description": "The intent, event name or schedule name delivered.",
            },
            "latency_ms": {"type": "number", "nullable": True},
            "correlation_id": {"type": "string", "nullable": True},
            "body_sha256": {"type": "string"},
            "body": {
                "type": "object",
                "nullable": True,
                "description": "The body sent, its exchange token masked.",
            },
            "reply": {"description": "The reply: JSON when it was JSON, else its text."},
            "at": {"type": "string", "format": "date-time"},
        },
    },
}

LIMIT_PARAMETER = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": "At most this many records, the newest ones.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 10_000},
}

SCHEDULE_PATH_PARAMETER = {
    "name": "schedule_uuid",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


SCHEDULE_LINKS = {
    name: {"operationId": operation, "parameters": {"schedule_uuid": "$response.body#/uuid"}}
    for name, operation in (
        ("ReadSchedule", "readSchedule"),
        ("UpdateSchedule", "updateSchedule"),
        ("DeleteSchedule", "deleteSchedule"),
    )
}


def _platform_paths() -> dict[str, Any]:
    schedule = _json(_ref("Schedule"), "The scheduled execution.")
    created = _json(
        {
            "type": "object",
            "properties": {"uuid": {"type": "string", "format": "uuid"}},
            "required": ["uuid"],
        },
        "Its uuid.",
    )
    created["links"] = SCHEDULE_LINKS
    return {
        "/v1/auth/fetch-command-exchange-token/": {
            "post": {
                "summary": "Get an exchange token for a user",
                "requestBody": _body(_ref("FetchToken")),
                "responses": {
                    "200": _json({"type": "object"}, "The token."),
                    "400": VALIDATION,
                    "403": ERROR,
                    "406": ERROR,
                    **PLATFORM_ERRORS,
                },
            }
        },
        "/v1/platform/scheduling/": {
            "post": {
                "summary": "Create a scheduled execution",
                "operationId": "createSchedule",
                "requestBody": _body(_ref("ScheduleCreate")),
                "responses": {"200": created, "400": ERROR, **PLATFORM_ERRORS},
            }
        },
        "/v1/platform/scheduling/{schedule_uuid}/": {
            "parameters": [SCHEDULE_PATH_PARAMETER],
            "get": {
                "summary": "Get a scheduled execution",
                "operationId": "readSchedule",
                "responses": {"200": schedule, "400": ERROR, "404": ERROR, **PLATFORM_ERRORS},
            },
            "put": {
                "summary": "Update a scheduled execution",
                "operationId": "updateSchedule",
                "requestBody": _body(_ref("ScheduleUpdate")),
                "responses": {"200": schedule, "400": ERROR, "404": ERROR, **PLATFORM_ERRORS},
            },
            "delete": {
                "summary": "Delete a scheduled execution",
                "operationId": "deleteSchedule",
                "responses": {
                    "204": {"description": "Deleted."},
                    "400": ERROR,
                    "404": ERROR,
                    **PLATFORM_ERRORS,
                },
            },
        },
        "/v1/platform/storage/": {
            "post": {
                "summary": "Run a storage operation",
                "requestBody": _body(_ref("StorageRequest")),
                "responses": {
                    "200": _json({"type": "object"}, "The result."),
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            }
        },
        "/v1/platform/event-subscription/": {
            "post": {
                "summary": "Register the command's event hook",
                "requestBody": _body(_ref("EventSubscription")),
                "responses": {
                    "200": _json({"type": "object"}, "The hook uuid."),
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            },
            "delete": {
                "summary": "Unregister the command's event hook",
                "responses": {
                    "200": {"description": "Removed; no body."},
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            },
        },
        "/v1/platform/activity/": {
            "get": {
                # `?limit=N` (newest N) is documented in the README and tested directly; left
                # out here so the generated runs stay within their time limit.
                "summary": "List the command's activity, newest first (optional ?limit=N)",
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Activity")}, "Records."),
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            },
            "post": {
                "summary": "Create an activity record",
                "requestBody": _body(_ref("ActivityCreate")),
                "responses": {
                    "201": _json(_ref("Activity"), "The record."),
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            },
        },
        "/v1/send-message/": {
            "post": {
                "summary": "Send a (follow-up) message",
                "requestBody": _body(_ref("SendMessage")),
                "responses": {
                    "200": _json({"type": "object"}, "Sent."),
                    "400": ERROR,
                    **PLATFORM_ERRORS,
                },
            }
        },
    }


def _control(summary: str, responses: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "security": [], "responses": responses}
    if body is not None:
        operation["requestBody"] = _body(_ref(body))
    return operation


def _control_paths() -> dict[str, Any]:
    def records(item: dict[str, Any], description: str) -> dict[str, Any]:
        return {"200": _json({"type": "array", "items": item}, description)}

    clock = _json(_ref("ClockState"), "The emulator's now.")
    cleared = {"204": {"description": "Cleared."}}
    anything = {"type": "object"}
    return {
        "/_emulator/health": {
            "get": _control("Readiness", {"200": _json({"type": "object"}, "Ready.")})
        },
        "/_emulator/invoke": {
            "post": _control(
                "Invoke a command as a user typing it",
                {
                    "200": _json(_ref("InvokeResult"), "What the command answered."),
                    "400": VALIDATION,
                    "404": ERROR,
                },
                "Invoke",
            )
        },
        "/_emulator/clock": {"get": _control("The emulator's now", {"200": clock})},
        "/_emulator/clock/advance": {
            "post": _control(
                "Advance the virtual clock, firing everything due",
                {"200": clock, "400": VALIDATION, "409": ERROR},
                "ClockAdvance",
            )
        },
        "/_emulator/events": {
            "post": _control(
                "Publish an event to matching hooks",
                {"200": _json({"type": "object"}, "Hooks called."), "400": VALIDATION},
                "PublishEvent",
            )
        },
        "/_emulator/faults": {
            "get": _control("Pending faults", records(_ref("Fault"), "Faults.")),
            "post": _control(
                "Inject a fault into the next matching API calls",
                {"201": _json(_ref("Fault"), "Added."), "400": VALIDATION},
                "Fault",
            ),
            "delete": _control("Clear faults", cleared),
        },
        "/_emulator/deliveries": {
            "get": _control("Outbound delivery attempts", records(_ref("Delivery"), "Attempts.")),
            "delete": _control("Forget deliveries", cleared),
        },
        "/_emulator/messages": {
            "get": _control("Sent messages, oldest first", records(anything, "Messages.")),
            "delete": _control("Forget messages", cleared),
        },
        **_state_view_paths(),
    }


def _state_view_paths() -> dict[str, Any]:
    """The read-only views the playground shows, and the controls acting on them."""
    anything = {"type": "object"}
    listed = {"200": _json({"type": "array", "items": anything}, "Records.")}
    activity = _control("Every command's activity, newest first", {**listed, "400": VALIDATION})
    activity["parameters"] = [LIMIT_PARAMETER]
    fire = _control(
        "Deliver one scheduled execution now (its timing and run count stay)",
        {
            "200": _json(_ref("InvokeResult"), "What the command answered."),
            "404": ERROR,
            "409": ERROR,
        },
        "Empty",
    )
    fire["parameters"] = [SCHEDULE_PATH_PARAMETER]
    return {
        "/_emulator/world": {
            "get": _control(
                "Organizations, users, commands and event names",
                {"200": _json(anything, "The world.")},
            )
        },
        "/_emulator/storage": {"get": _control("Every stored key and value", listed)},
        "/_emulator/activity": {"get": activity},
        "/_emulator/schedules": {"get": _control("Every scheduled execution", listed)},
        "/_emulator/schedules/{schedule_uuid}/fire": {"post": fire},
        "/_emulator/hooks": {"get": _control("Every event hook", listed)},
        "/_emulator/reset": {
            "post": _control(
                "Forget schedules, storage, activity, hooks, deliveries, messages and faults",
                {"204": {"description": "Reset."}},
                "Empty",
            )
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Dailybot Commands Platform (local emulator)",
            "version": "1.0.0",
            "description": "The platform API under /v1/ and the emulator's control API under "
            "/_emulator/.",
        },
        "paths": {**_platform_paths(), **_control_paths(), **live_paths()},
        "components": {
            "schemas": SCHEMAS | CONTROL_SCHEMAS | LIVE_SCHEMAS,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
                "ExchangeToken": {"type": "apiKey", "in": "header", "name": "X-EXCHANGE-TOKEN"},
            },
        },
        "security": [{"ApiKey": [], "ExchangeToken": []}, {"ApiKey": []}],
    }
