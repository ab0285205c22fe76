"""The OpenAPI 3.0 description served at ``/openapi.json``: the platform API and the control API."""

from __future__ import annotations

from typing import Any

from emulator.event_names import EVENT_NAMES

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

SCHEDULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "cron": {"type": "string", "nullable": True, "example": "0 9 * * 1-5"},
    "execution_frequency": {"type": "integer", "minimum": 0, "default": 0},
    "repeats": {"type": "integer", "minimum": -1, "default": -1},
    "payload": {"type": "object", "default": {}},
    "timezone_type": {
        "type": "string",
        "enum": ["organization_timezone", "user_timezone"],
        "default": "organization_timezone",
    },
    "callback_url": {"type": "string", "format": "uri", "nullable": True},
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
                "summary": "List the command's activity, newest first",
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


def _control_paths() -> dict[str, Any]:
    ok = {"200": _json({"type": "object"}, "Done."), "400": VALIDATION}
    listing = {"200": _json({"type": "array", "items": {"type": "object"}}, "Records.")}
    cleared = {"204": {"description": "Cleared."}}
    loose = _body({"type": "object"})
    return {
        "/_emulator/health": {"get": {"summary": "Readiness", "security": [], "responses": ok}},
        "/_emulator/invoke": {
            "post": {
                "summary": "Invoke a command as a user typing it",
                "security": [],
                "requestBody": loose,
                "responses": ok,
            }
        },
        "/_emulator/clock": {
            "get": {"summary": "The emulator's now", "security": [], "responses": ok}
        },
        "/_emulator/clock/advance": {
            "post": {
                "summary": "Advance the virtual clock",
                "security": [],
                "requestBody": loose,
                "responses": ok,
            }
        },
        "/_emulator/events": {
            "post": {
                "summary": "Publish an event to matching hooks",
                "security": [],
                "requestBody": loose,
                "responses": ok,
            }
        },
        "/_emulator/faults": {
            "get": {"summary": "Pending faults", "security": [], "responses": listing},
            "post": {
                "summary": "Inject a fault",
                "security": [],
                "requestBody": loose,
                "responses": {"201": _json({"type": "object"}, "Added."), "400": VALIDATION},
            },
            "delete": {"summary": "Clear faults", "security": [], "responses": cleared},
        },
        "/_emulator/deliveries": {
            "get": {"summary": "Outbound deliveries", "security": [], "responses": listing},
            "delete": {"summary": "Forget deliveries", "security": [], "responses": cleared},
        },
        "/_emulator/messages": {
            "get": {"summary": "Sent messages", "security": [], "responses": listing},
            "delete": {"summary": "Forget messages", "security": [], "responses": cleared},
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
        "paths": {**_platform_paths(), **_control_paths()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
                "ExchangeToken": {"type": "apiKey", "in": "header", "name": "X-EXCHANGE-TOKEN"},
            },
        },
        "security": [{"ApiKey": [], "ExchangeToken": []}, {"ApiKey": []}],
    }
