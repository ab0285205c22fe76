"""Turning an error answer of the platform into the matching class of the error tree.

The class is chosen by the body's `code` first (it is the most specific), then by the HTTP
status; the two 406 refusals of the fetch-token endpoint carry no code and are told apart by
their `detail` text. Only `detail`/`details` of a JSON body reach the error: an HTML page from
a proxy is replaced by the status's reason phrase.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from chalicelib.dailybot.errors import (
    APIError,
    AuthenticationFailed,
    BadRequest,
    CommandNotPublic,
    DailyLimitExceeded,
    InvalidCommandSpecified,
    MissingContext,
    MissingToken,
    MissingTokenOrCommand,
    NotAcceptable,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UserNotFound,
    ValidationFailed,
)
from chalicelib.redaction import Secret, redact_text

WallClock = Callable[[], float]

# A detail longer than this is a stack trace or a page, not a verdict.
MAX_DETAIL_CHARS: Final = 500

ERRORS_BY_CODE: Final[Mapping[str, type[APIError]]] = {
    "missing_token_or_command": MissingTokenOrCommand,
    "invalid_command_specified": InvalidCommandSpecified,
    "missing_context": MissingContext,
    "missing_token": MissingToken,
    "not_found": NotFound,
    "free_plan_daily_limit_exceeded": DailyLimitExceeded,
}

ERRORS_BY_STATUS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    406: NotAcceptable,
    429: RateLimited,
}


def error_from_response(
    response: httpx.Response,
    *,
    secrets: Iterable[Secret] = (),
    wall_clock: WallClock = time.time,
) -> APIError:
    """The error for an answer with status >= 400; `secrets` are scrubbed from its texts."""
    status = response.status_code
    body = _json_object(response)
    code = _text(body.get("code"))
    detail = _text(body.get("detail"))
    details = body.get("details")
    if not body:
        detail = response.reason_phrase or None
    hidden = tuple(secrets)
    if detail is not None:
        detail = redact_text(detail[:MAX_DETAIL_CHARS], hidden)
    if isinstance(details, str):
        details = redact_text(details[:MAX_DETAIL_CHARS], hidden)
    error_class = _error_class(status, code, detail, has_details=details is not None)
    return error_class(
        status,
        code=code,
        detail=detail,
        details=details,
        retry_after=parse_retry_after(response.headers.get("retry-after"), wall_clock()),
    )


def _error_class(
    status: int, code: str | None, detail: str | None, *, has_details: bool
) -> type[APIError]:
    if code is not None and code in ERRORS_BY_CODE:
        return ERRORS_BY_CODE[code]
    if status == 400 and has_details:
        return ValidationFailed
    if status == 406 and detail is not None:
        lowered = detail.lower()
        if "could not find the user" in lowered:
            return UserNotFound
        if "not public" in lowered:
            return CommandNotPublic
    if status >= 500:
        return ServerError
    return ERRORS_BY_STATUS.get(status, APIError)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date), if usable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # an HTTP date is GMT even when it fails to say so
            return None
        seconds = moment.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
