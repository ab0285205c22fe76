"""The client's error tree: transport failures apart from the platform's verdicts.

Every exception the client raises is a `DailybotError`. Foreign exceptions (httpx) are turned
into these at one place in the client, with `raise ... from exc`, and never leak upward.
API verdicts are keyed by HTTP status and the body's `code`; messages never carry the raw body
(it may be HTML from a proxy) nor any secret.
"""

from __future__ import annotations


class DailybotError(Exception):
    """Base of everything the platform client raises."""


# -- the request never got a verdict -------------------------------------------------------


class TransportError(DailybotError):
    """The request did not get an answer (connection refused, reset, timed out)."""


class ConnectError(TransportError):
    """The platform could not be reached; the request was certainly not applied."""


class RequestTimeout(TransportError):
    """No answer in time; the request may or may not have been applied."""


class DeadlineExceeded(DailybotError):
    """The caller's deadline left no time to make (or retry) the request."""


class InvalidRequest(DailybotError):
    """A value in the request cannot be sent as JSON text (a lone surrogate, say); nothing was
    sent."""


class InvalidResponse(DailybotError):
    """A success answer whose body does not have the documented shape."""


class ResponseTooLarge(InvalidResponse):
    """An answer longer than the client reads (a broken or hostile platform); the rest of it
    was never read."""


class ExchangeTokenUnavailable(DailybotError):
    """No exchange token came with the delivery and there is no user to fetch one for."""


# -- the platform answered with an error ---------------------------------------------------


class APIError(DailybotError):
    """The platform answered with an error status."""

    def __init__(
        self,
        status: int,
        *,
        code: str | None = None,
        detail: str | None = None,
        details: object = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.details = details
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"Dailybot API answered {self.status}"
        if self.code:
            text += f" ({self.code})"
        if self.detail:
            text += f": {self.detail}"
        elif self.details is not None:
            text += f": {self.details}"
        return text


class BadRequest(APIError):
    """400 without a more specific code."""


class ValidationFailed(BadRequest):
    """400 `{"details": ...}`: the body did not validate."""


class MissingTokenOrCommand(BadRequest):
    """400 `missing_token_or_command`: neither an exchange token nor a `command_uuid`."""


class InvalidCommandSpecified(BadRequest):
    """400 `invalid_command_specified`: the command is not owned by the key's organization."""


class MissingContext(BadRequest):
    """400 `missing_context`: storage needs an exchange token or a namespace."""


class MissingToken(BadRequest):
    """400 `missing_token`: the endpoint needs an exchange token."""


class AuthenticationFailed(APIError):
    """401: missing or unknown API key, or an expired or unknown exchange token."""


class PermissionDenied(APIError):
    """403: the API key lacks the scope the endpoint needs."""


class NotFound(APIError):
    """404 `not_found`."""


class NotAcceptable(APIError):
    """406 from the fetch-exchange-token endpoint."""


class UserNotFound(NotAcceptable):
    """406: no user for the given `user_uuid`."""


class CommandNotPublic(NotAcceptable):
    """406: a non-public command asked for a token of a user of another organization."""


class RateLimited(APIError):
    """429: too many requests; `retry_after` says how long to wait."""


class DailyLimitExceeded(RateLimited):
    """429 `free_plan_daily_limit_exceeded`: never retried, waiting a minute will not help."""


class ServerError(APIError):
    """5xx: the platform (or a proxy in front of it) failed."""
