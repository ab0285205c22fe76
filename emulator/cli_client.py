"""``python -m emulator trigger``, ``invoke`` and ``replay``: a running emulator, from a shell.

``trigger EVENT`` publishes an event (with the event's example body when none is given) and
says which hooks it reached and what their commands answered; ``invoke TEXT`` types a command
as a user and prints the reply; ``replay DELIVERY_ID`` sends a delivery again, as it was or
edited. All talk to the control API over HTTP (``--url``, default
``$DAILYBOT_EMULATOR_URL`` or ``http://127.0.0.1:8001``); every failure is one line on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from emulator.event_names import normalise_event
from emulator.world import intent_key

DEFAULT_URL = "http://127.0.0.1:8001"
URL_VARIABLE = "DAILYBOT_EMULATOR_URL"


class CliError(Exception):
    """What went wrong, in one line for the person at the shell."""


def default_url() -> str:
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


@dataclass
class Control:
    """The emulator's control API over HTTP."""

    base_url: str

    def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        url = f"{self.base_url.rstrip('/')}/_emulator/{path}"
        try:
            response = httpx.request(
                method, url, json=body, params=params or None, timeout=60, trust_env=False
            )
        except httpx.HTTPError as exc:
            raise CliError(
                f"cannot reach the emulator at {self.base_url} ({type(exc).__name__}):"
                " is it running? `make run` starts it"
            ) from exc
        data = _json(response)
        if response.status_code >= 400:
            raise CliError(_refusal(response.status_code, data))
        return data


def _json(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text


def _refusal(status: int, data: Any) -> str:
    if isinstance(data, dict):
        code = data.get("code")
        text = data.get("detail") or data.get("details") or data.get("message") or ""
        return f"the emulator refused it ({status}{' ' + code if code else ''}): {text}"
    return f"the emulator refused it ({status}): {data}"


def parse_body(raw: str | None) -> dict[str, Any] | None:
    """``--body``: a JSON object, or ``@path`` to read one from a file."""
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        try:
            text = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {raw[1:]}: {exc.strerror}") from exc
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise CliError(f"--body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise CliError("--body must be a JSON object")
    return body


def _organization(world: dict[str, Any], wanted: str | None) -> dict[str, Any]:
    organizations = world["organizations"]
    if wanted is None:
        return dict(organizations[0])
    for organization in organizations:
        if wanted.casefold() in (organization["uuid"], organization["name"].casefold()):
            return dict(organization)
    known = ", ".join(f"{o['name']} ({o['uuid']})" for o in organizations)
    raise CliError(f"no organization {wanted!r}; known: {known}")


def trigger(
    control: Control,
    event: str,
    *,
    organization: str | None = None,
    body: dict[str, Any] | None = None,
    subscribed_object: str | None = None,
    out: TextIO,
) -> int:
    world = control.call("GET", "world")
    dotted = normalise_event(event)
    if dotted is None:
        raise CliError(f"unknown event {event!r}; known: {', '.join(world['events'])}")
    where = _organization(world, organization)
    if body is None:
        body = control.call("GET", "event-examples", organization_uuid=where["uuid"])[dotted]
    answer = control.call(
        "POST",
        "events",
        {
            "organization_uuid": where["uuid"],
            "event": dotted,
            "body": body,
            "subscribed_object": subscribed_object,
            "results": True,
        },
    )
    results = answer.get("results", [])
    if not results:
        out.write(
            f"{dotted} published in {where['name']}: no hook is subscribed to it"
            " (the app registers its hook on its first delivery, or with `make sync`)\n"
        )
        return 0
    out.write(f"{dotted} published in {where['name']}: {len(results)} hook(s) called\n")
    failed = False
    for result in results:
        status = result.get("status_code")
        failed = failed or status is None or status >= 400
        shown = status if status is not None else f"no answer ({result.get('error')})"
        line = f"  {result['intent']}: {shown} {_reply_text(result.get('reply'))}"
        out.write(line.rstrip() + "\n")
    return 1 if failed else 0


def _user(world: dict[str, Any], wanted: str | None) -> dict[str, Any] | None:
    if wanted is None:
        return None
    needle = wanted.casefold()
    users = world["users"]
    exact = [u for u in users if needle in (u["uuid"], u["full_name"].casefold())]
    found = exact or [u for u in users if u["full_name"].casefold().split()[0] == needle]
    if len(found) == 1:
        return dict(found[0])
    known = ", ".join(u["full_name"] for u in users)
    if not found:
        raise CliError(f"no user {wanted!r}; known: {known}")
    raise CliError(f"{wanted!r} names several users: {', '.join(u['full_name'] for u in found)}")


def invoke(
    control: Control,
    text: str,
    *,
    user: str | None = None,
    raw: bool = False,
    out: TextIO,
) -> int:
    intent, _, query = text.strip().partition(" ")
    if not intent:
        raise CliError("type a command, e.g. `python -m emulator invoke 'remember color blue'`")
    world = control.call("GET", "world")
    who = _user(world, user)
    body: dict[str, Any] = {"intent": intent, "query": query.strip()}
    if who is not None:
        body["user_uuid"] = who["uuid"]
        if any(
            c["organization_uuid"] == who["organization_uuid"]
            and intent_key(intent) in {intent_key(i) for i in (c["intent"], *c["aliases"])}
            for c in world["commands"]
        ):
            body["organization_uuid"] = who["organization_uuid"]
    answer = control.call("POST", "invoke", body)
    if raw:
        out.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
    status = answer.get("status_code")
    if status is None:
        raise CliError(f"the command never answered ({answer.get('error')})")
    if status >= 400:
        raise CliError(f"the command answered {status}: {_reply_text(answer.get('reply'))}")
    if not raw:
        out.write(_reply_text(answer.get("reply")) + "\n")
        for button in _buttons(answer.get("reply")):
            out.write(f"  [{button.get('label')}] runs: {button.get('value')}\n")
    return 0


def replay(
    control: Control, delivery_id: str, *, body: dict[str, Any] | None = None, out: TextIO
) -> int:
    """Dailybot's redelivery of ``delivery_id`` (the same body), or with ``body`` a new one."""
    mode = "as_it_was" if body is None else "edited"
    payload: dict[str, Any] = {"mode": mode} if body is None else {"mode": mode, "body": body}
    answer = control.call("POST", f"deliveries/{delivery_id}/replay", payload)
    status = answer.get("status_code")
    if status is None:
        raise CliError(f"the command never answered ({answer.get('error')})")
    shown = "as it was" if body is None else "edited"
    out.write(f"replayed {shown} as {answer['delivery_id']}: {status}\n")
    out.write(_reply_text(answer.get("reply")) + "\n")
    return 0 if status < 400 else 1


def _reply_text(reply: Any) -> str:
    if isinstance(reply, dict):
        text = reply.get("message") or reply.get("detail") or json.dumps(reply)
        image = reply.get("image_url")
        return f"{text}\n  image: {image}" if image else str(text)
    return "" if reply is None else str(reply)


def _buttons(reply: Any) -> list[dict[str, Any]]:
    buttons = reply.get("buttons") if isinstance(reply, dict) else None
    return [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []
