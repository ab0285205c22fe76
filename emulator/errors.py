"""The platform's error answers: one exception carrying the status and the JSON body to send."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in a request; the endpoint wrapper turns it into a JSON response."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def coded(status: int, detail: str, code: str) -> ApiError:
    return ApiError(status, {"detail": detail, "code": code})


def invalid(details: str) -> ApiError:
    """A validation error: the seed spells these with ``details``."""
    return ApiError(400, {"details": details})


def not_authenticated() -> ApiError:
    return ApiError(401, {"detail": "Authentication credentials were not provided."})


def invalid_token() -> ApiError:
    return coded(401, "Invalid or expired exchange token.", "invalid_token")


def permission_denied() -> ApiError:
    return coded(403, "You do not have permission to perform this action.", "permission_denied")


def not_found() -> ApiError:
    return coded(404, "Not found.", "not_found")


def missing_token() -> ApiError:
    return coded(400, "You should specify a valid exchange token", "missing_token")
