"""The inspector's list: every delivery (a run) and every platform call, newest first, filtered
by kind, subject, status and organization, a page at a time.

Filters: ``kind`` (``invocation``, ``event``, ``scheduled_execution``, ``platform_call``; several
separated by commas), ``subject`` (part of the intent, event or schedule name, or of what a call
did, any case), ``status`` (``2xx``, ``3xx``, ``4xx``, ``5xx``, ``none`` for never answered,
``pending``, or one status code), ``organization_uuid``; ``before`` (a ``seq``) and ``limit`` page.
"""

from __future__ import annotations

from typing import Any

from emulator.database import Database
from emulator.errors import invalid
from emulator.platform_calls import call_view
from emulator.runs import first_run_with, run_row
from emulator.timeline import run_view

KINDS = ("invocation", "event", "scheduled_execution", "platform_call")
STATUS_CLASSES = {"2xx": 200, "3xx": 300, "4xx": 400, "5xx": 500}
DEFAULT_ROWS = 50
MAX_ROWS = 500

ROWS = (
    "SELECT 'run' AS what, delivery_id AS ref, seq, kind, subject, organization_uuid,"
    " (SELECT status FROM deliveries d WHERE d.delivery_id = r.delivery_id"
    "  ORDER BY d.id DESC LIMIT 1) AS status, finished_wall IS NULL AS pending FROM runs r"
    " UNION ALL SELECT 'call', id, seq, 'platform_call', summary, organization_uuid, status, 0"
    " FROM api_calls"
)


def _kind_condition(value: str) -> tuple[str, list[Any]]:
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        raise invalid(f"'kind' must be one or more of {', '.join(KINDS)}.")
    return f"kind IN ({', '.join('?' for _ in kinds)})", list(kinds)


def _status_condition(value: str) -> tuple[str, list[Any]]:
    if value in STATUS_CLASSES:
        low = STATUS_CLASSES[value]
        return "status BETWEEN ? AND ?", [low, low + 99]
    if value == "none":
        return "status IS NULL AND NOT pending", []
    if value == "pending":
        return "pending", []
    if value.isdigit() and 100 <= int(value) <= 599:
        return "status = ?", [int(value)]
    raise invalid("'status' must be 2xx, 3xx, 4xx, 5xx, none, pending or a status code.")


def _conditions(filters: dict[str, str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    for name, build in (
        ("kind", _kind_condition),
        ("status", _status_condition),
        ("subject", lambda v: ("subject LIKE ? ESCAPE '\\'", [f"%{_escaped(v)}%"])),
        ("organization_uuid", lambda v: ("organization_uuid = ?", [v])),
        ("before", _before_condition),
    ):
        if filters.get(name):
            clause, more = build(filters[name])
            clauses.append(clause)
            values += more
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def _before_condition(value: str) -> tuple[str, list[Any]]:
    if not value.isdigit():
        raise invalid("'before' must be a whole number (a seq).")
    return "seq < ?", [int(value)]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inspector_rows(database: Database, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    where, values = _conditions(filters)
    rows = database.all(
        f"SELECT * FROM ({ROWS}){where} ORDER BY seq DESC LIMIT ?",  # noqa: S608 - built above
        (*values, limit),
    )
    views = []
    for row in rows:
        view = _row(database, row["what"], row["ref"])
        if view is not None:
            views.append(view)
    return views


def _row(database: Database, what: str, ref: Any) -> dict[str, Any] | None:
    if what == "run":
        run = run_row(database, str(ref))
        return None if run is None else {"type": "run", "run": run_view(database, run)}
    call = database.one("SELECT * FROM api_calls WHERE id = ?", (ref,))
    return None if call is None else {"type": "call", "call": call_with_owner(database, call)}


def call_with_owner(database: Database, row: Any) -> dict[str, Any]:
    """A call, with the delivery it was made for when its correlation id names one."""
    view = call_view(row)
    owner = first_run_with(database, row["correlation_id"]) if row["correlation_id"] else None
    view["run"] = None
    if owner is not None:
        view["run"] = {name: owner[name] for name in ("delivery_id", "kind", "subject")}
    return view
