"""Every platform API call a command made, for the inspector and the timeline.

Each call is recorded with what it did in a few words (``storage set color``), its status and
latency, who made it, and the correlation headers it carried (``emulator.correlation``), which
place it under the delivery or job that made it. Request and response are kept in part (the
first ``MAX_SHOWN`` characters) with exchange tokens masked; the newest ``MAX_KEPT`` calls are
kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.correlation import Correlation
from emulator.database import Database, Row
from emulator.timestamps import iso_z

MAX_SHOWN = 4096
MAX_KEPT = 20_000
PRUNE_EVERY = 256
MASKED = "••••••"
SECRET_FIELDS = ("exchange_token", "token")


@dataclass(frozen=True)
class PlatformCall:
    method: str
    path: str
    status: int
    organization_uuid: str | None
    command_uuid: str | None
    user_uuid: str | None
    correlation: Correlation
    request: bytes
    response: bytes
    latency_ms: float


def record_call(database: Database, call: PlatformCall, at: float) -> int:
    """Store ``call``; answers its id."""
    body = _json(call.request)
    call_id = database.insert(
        "INSERT INTO api_calls (seq, method, path, status, organization_uuid, command_uuid,"
        " user_uuid, correlation_id, job, job_id, summary, request, response, latency_ms, at,"
        " wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            database.next_seq(),
            call.method,
            call.path,
            call.status,
            call.organization_uuid,
            call.command_uuid,
            call.user_uuid,
            call.correlation.correlation_id,
            call.correlation.job,
            call.correlation.job_id,
            _encodable(summarise(call.method, call.path, body)),
            _shown(body, call.request),
            _shown(_json(call.response), call.response),
            call.latency_ms,
            at,
            time.time(),
        ),
    )
    if call_id % PRUNE_EVERY == 0:
        database.execute("DELETE FROM api_calls WHERE id <= ?", (call_id - MAX_KEPT,))
    return call_id


def call_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "seq": row["seq"],
        "method": row["method"],
        "path": row["path"],
        "status": row["status"],
        "summary": row["summary"],
        "organization_uuid": row["organization_uuid"],
        "command_uuid": row["command_uuid"],
        "user_uuid": row["user_uuid"],
        "correlation_id": row["correlation_id"],
        "job": row["job"],
        "job_id": row["job_id"],
        "request": row["request"],
        "response": row["response"],
        "latency_ms": row["latency_ms"],
        "at": iso_z(row["at"]),
        "wall": row["wall"],
    }


def _storage(body: dict[str, Any]) -> str:
    params = body.get("params")
    key = params.get("key") if isinstance(params, dict) else None
    namespace = body.get("namespace")
    where = f"{namespace}/" if isinstance(namespace, str) and namespace else ""
    return f"storage {body.get('op', '?')} {where}{key if isinstance(key, str) else '?'}"


def _activity(body: dict[str, Any]) -> str:
    return f"activity {body.get('category', '?')}/{body.get('action', '?')}"


def _subscription(body: dict[str, Any]) -> str:
    names = body.get("subscriptions")
    listed = ", ".join(n for n in names if isinstance(n, str)) if isinstance(names, list) else ""
    return f"subscribe {listed or '?'}"


def _schedule(body: dict[str, Any]) -> str:
    return f"create schedule {body.get('name', '?')}"


def _message(body: dict[str, Any]) -> str:
    text = body.get("message")
    shown = text if isinstance(text, str) else "?"
    return f"send message {shown[:40]!r}"


_BY_ROUTE: dict[tuple[str, str], Callable[[dict[str, Any]], str]] = {
    ("POST", "/v1/platform/storage/"): _storage,
    ("POST", "/v1/platform/activity/"): _activity,
    ("GET", "/v1/platform/activity/"): lambda body: "list activity",
    ("POST", "/v1/platform/event-subscription/"): _subscription,
    ("DELETE", "/v1/platform/event-subscription/"): lambda body: "unsubscribe",
    ("POST", "/v1/platform/scheduling/"): _schedule,
    ("POST", "/v1/send-message/"): _message,
    ("POST", "/v1/auth/fetch-command-exchange-token/"): lambda body: "fetch exchange token",
}
_SCHEDULE_VERBS = {"GET": "read", "PUT": "update", "DELETE": "delete"}


def summarise(method: str, path: str, body: Any) -> str:
    """What a call did, in a few words: ``storage set color``, ``activity usage/triggered``."""
    fields = body if isinstance(body, dict) else {}
    describe = _BY_ROUTE.get((method, path))
    if describe is not None:
        return describe(fields)
    if path.startswith("/v1/platform/scheduling/") and method in _SCHEDULE_VERBS:
        schedule = path.removeprefix("/v1/platform/scheduling/").strip("/")
        return f"{_SCHEDULE_VERBS[method]} schedule {schedule[:8]}"
    return f"{method} {path}"


def _json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _shown(parsed: Any, content: bytes) -> str | None:
    """The first ``MAX_SHOWN`` characters of a body, its tokens masked."""
    if not content:
        return None
    if parsed is None:
        # Not JSON: it is not shown, since it could hold a token the masking cannot find.
        return f"({len(content)} bytes, not JSON)"
    if isinstance(parsed, dict):
        parsed = {k: MASKED if k in SECRET_FIELDS and v else v for k, v in parsed.items()}
    text = _encodable(json.dumps(parsed, ensure_ascii=False))
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _encodable(text: str) -> str:
    """``text`` with what UTF-8 cannot hold (a lone surrogate a caller sent) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")
