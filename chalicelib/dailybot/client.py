"""`DailybotClient`: every endpoint of the Commands Platform API over one long-lived httpx pool.

Each public method builds a body (`wire`), hands it to `_call` and reads the answer back into a
typed value. `_call` is the one choke point: it adds the secret headers, shrinks timeouts to
the caller's deadline, turns httpx exceptions and error answers into the error tree and
repeats what the retry policy allows, never sleeping past the deadline.

Requests go straight to an httpx transport (the connection pool), not through
`httpx.Client`: the client's per-request machinery (base-URL merging, a cookie jar, auth and
redirect flows, event hooks) is none of what this API needs and cost as much again as the
transport itself. A shared cookie jar would also carry one organization's cookies into
another's calls.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Final, Unpack
from urllib.parse import quote

import httpx

from chalicelib.dailybot import wire
from chalicelib.dailybot.answer_body import MAX_RESPONSE_BYTES, read_within
from chalicelib.dailybot.call_options import CallOptions
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.error_mapping import WallClock, error_from_response
from chalicelib.dailybot.errors import (
    ConnectError,
    DailybotError,
    DailyLimitExceeded,
    DeadlineExceeded,
    InvalidRequest,
    InvalidResponse,
    NotFound,
    RateLimited,
    RequestTimeout,
    TransportError,
)
from chalicelib.dailybot.models import (
    ActivityEntry,
    ActivityRecord,
    ExchangeTokenGrant,
    JSONValue,
    OutgoingMessage,
    ScheduledExecution,
    ScheduleSpec,
)
from chalicelib.dailybot.retry import RetryPolicy, backoff_seconds, should_retry
from chalicelib.redaction import Secret

logger = logging.getLogger(__name__)

API_KEY_HEADER: Final = "X-API-KEY"
EXCHANGE_TOKEN_HEADER: Final = "X-EXCHANGE-TOKEN"  # noqa: S105 - a header name
USER_AGENT: Final = "dailybot-chalice-runtime/0.1"
_JSON_CONTENT_TYPE: Final = b"application/json"
# Methods whose requests say Content-Length even when empty, as httpx does.
_SENDS_A_BODY: Final = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_TIMEOUT: Final = httpx.Timeout(5.0, connect=2.0)

FETCH_TOKEN_PATH: Final = "auth/fetch-command-exchange-token/"  # noqa: S105 - a path
SCHEDULING_PATH: Final = "platform/scheduling/"
STORAGE_PATH: Final = "platform/storage/"
EVENT_SUBSCRIPTION_PATH: Final = "platform/event-subscription/"
ACTIVITY_PATH: Final = "platform/activity/"
SEND_MESSAGE_PATH: Final = "send-message/"
# Parsed URLs kept per client: the fixed paths above, and a few schedules' paths.
_KEPT_URLS: Final = 32

CallWrapper = Callable[[str, str], AbstractContextManager[None]]
"""Wraps each HTTP attempt, given (method, path); the runtime opens a tracer subsegment."""


class DailybotClient:
    """The Commands Platform API. Build one per process and share it; it is thread safe."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_call: CallWrapper | None = None,
        wall_clock: WallClock = time.time,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._max_response_bytes = max_response_bytes
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._api_key = api_key
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._on_call = on_call
        self._wall_clock = wall_clock
        # Parsed once per path: httpx would parse and join the relative path on every call.
        self._urls: dict[str, httpx.URL] = {}
        self._raw_headers: tuple[tuple[bytes, bytes], ...] = (
            (b"Host", httpx.URL(self._base_url).netloc),
            (b"Accept", _JSON_CONTENT_TYPE),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"Connection", b"keep-alive"),
            (b"User-Agent", USER_AGENT.encode()),
            (API_KEY_HEADER.encode(), api_key.reveal().encode("ascii")),
        )
        self._transport = httpx.HTTPTransport() if transport is None else transport

    def __repr__(self) -> str:
        return f"DailybotClient(base_url={self._base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> DailybotClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- exchange tokens -------------------------------------------------------------------

    def fetch_exchange_token(
        self,
        user_uuid: str,
        *,
        include_user_context: bool = False,
        **options: Unpack[CallOptions],
    ) -> ExchangeTokenGrant:
        """A token to act as `user_uuid` (the key needs scope AUTH_FETCH_EXCHANGE_TOKEN)."""
        response = self._call(
            "POST",
            FETCH_TOKEN_PATH,
            body=wire.fetch_token_body(user_uuid, include_user_context=include_user_context),
            options=options,
            safe_to_repeat=True,
        )
        return wire.token_grant_from(_json(response))

    # -- scheduling ------------------------------------------------------------------------

    def create_schedule(
        self,
        spec: ScheduleSpec,
        *,
        command_uuid: str | None = None,
        **options: Unpack[CallOptions],
    ) -> str:
        """Creates a scheduled execution and answers its uuid."""
        response = self._call(
            "POST",
            SCHEDULING_PATH,
            body=wire.schedule_body(spec, command_uuid=command_uuid),
            options=options,
            safe_to_repeat=False,
        )
        return wire.uuid_from(_json(response))

    def get_schedule(self, uuid: str, **options: Unpack[CallOptions]) -> ScheduledExecution:
        response = self._call("GET", _schedule_path(uuid), options=options)
        return wire.scheduled_execution_from(_json(response))

    def update_schedule(
        self,
        uuid: str,
        changes: Mapping[str, JSONValue],
        **options: Unpack[CallOptions],
    ) -> ScheduledExecution:
        response = self._call("PUT", _schedule_path(uuid), body=dict(changes), options=options)
        return wire.scheduled_execution_from(_json(response))

    def delete_schedule(self, uuid: str, **options: Unpack[CallOptions]) -> None:
        """Deletes the scheduled execution (a retry finding it gone counts as deleted)."""
        self._call("DELETE", _schedule_path(uuid), options=options, absent_means_done=True)

    # -- storage ---------------------------------------------------------------------------

    def storage_get(
        self,
        key: str,
        *,
        namespace: str | None = None,
        **options: Unpack[CallOptions],
    ) -> JSONValue:
        """The stored value of `key`, or None when nothing is stored under it."""
        body = wire.storage_body("get", key, namespace=namespace)
        response = self._storage(body, options)
        return wire.stored_value_from(_json(response), key)

    def storage_set(
        self,
        key: str,
        value: JSONValue,
        *,
        namespace: str | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        body = wire.storage_body("set", key, namespace=namespace, value=value, with_value=True)
        self._storage(body, options)

    def storage_delete(
        self, key: str, *, namespace: str | None = None, **options: Unpack[CallOptions]
    ) -> None:
        self._storage(wire.storage_body("delete", key, namespace=namespace), options)

    def _storage(self, body: JSONValue, options: CallOptions) -> httpx.Response:
        # Every storage operation is safe to repeat: get reads, set and delete converge.
        return self._call("POST", STORAGE_PATH, body=body, options=options)

    # -- event subscriptions ---------------------------------------------------------------

    def register_event_subscription(
        self,
        subscriptions: Sequence[str],
        *,
        subscribed_objects: Sequence[str] | None = None,
        **options: Unpack[CallOptions],
    ) -> str:
        """Registers the command's hook for `subscriptions` and answers the hook uuid."""
        response = self._call(
            "POST",
            EVENT_SUBSCRIPTION_PATH,
            body=wire.subscription_body(
                list(subscriptions),
                None if subscribed_objects is None else list(subscribed_objects),
            ),
            options=options,
            safe_to_repeat=False,
        )
        return wire.uuid_from(_json(response), "hook_uuid")

    def unregister_event_subscription(self, **options: Unpack[CallOptions]) -> None:
        self._call("DELETE", EVENT_SUBSCRIPTION_PATH, options=options)

    # -- activity --------------------------------------------------------------------------

    def list_activity(
        self, *, limit: int | None = None, **options: Unpack[CallOptions]
    ) -> list[ActivityRecord]:
        """The command's activity records; with `limit`, the platform is asked for the newest
        `limit` only (a `limit` query parameter, which the reference does not document: a
        platform that ignores it answers them all)."""
        path = ACTIVITY_PATH if limit is None else f"{ACTIVITY_PATH}?limit={int(limit)}"
        response = self._call("GET", path, options=options)
        return wire.activity_records_from(_json(response))

    def create_activity(
        self, entry: ActivityEntry, **options: Unpack[CallOptions]
    ) -> ActivityRecord:
        response = self._call(
            "POST",
            ACTIVITY_PATH,
            body=wire.activity_body(entry),
            options=options,
            safe_to_repeat=False,
        )
        return wire.activity_record_from(_json(response))

    # -- messages --------------------------------------------------------------------------

    def send_message(self, message: OutgoingMessage, **options: Unpack[CallOptions]) -> None:
        """Sends a follow-up chat message (the exchange token travels in the body)."""
        token = options.get("exchange_token")
        self._call(
            "POST",
            SEND_MESSAGE_PATH,
            body=wire.message_body(message, exchange_token=token),
            options={**options, "exchange_token": None},
            secrets=() if token is None else (token,),
            safe_to_repeat=False,
        )

    # -- the choke point -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: JSONValue = None,
        options: CallOptions,
        secrets: tuple[Secret, ...] = (),
        safe_to_repeat: bool = True,
        absent_means_done: bool = False,
    ) -> httpx.Response:
        """The successful answer, after as many attempts as the policy and deadline allow.

        With `absent_means_done` (deletes), a 404 after an attempt that may have been applied
        is that attempt's success, not an error.
        """
        deadline = options.get("deadline")
        labels = options.get("labels")
        headers = {} if labels is None else labels.headers()
        exchange_token = options.get("exchange_token")
        if exchange_token is not None:
            headers[EXCHANGE_TOKEN_HEADER] = exchange_token.reveal()
            secrets = (*secrets, exchange_token)
        started = self._clock()
        attempt = 0
        last_error: DailybotError | None = None
        while True:
            if deadline is not None and deadline.expired():
                raise last_error or DeadlineExceeded(
                    f"{method} {path}: no time left before the deadline"
                )
            attempt += 1
            try:
                return self._attempt(
                    method=method,
                    path=path,
                    body=body,
                    headers=headers,
                    deadline=deadline,
                    secrets=secrets,
                )
            except NotFound:
                if absent_means_done and _may_have_been_applied(last_error):
                    return httpx.Response(204)
                raise
            except DailybotError as error:
                if not should_retry(
                    error, attempt=attempt, safe_to_repeat=safe_to_repeat, policy=self._policy
                ):
                    _log_wait_refused(method, path, error, self._policy.max_retry_after_seconds)
                    raise
                wait = backoff_seconds(error, attempt=attempt, policy=self._policy)
                if deadline is not None and wait >= deadline.remaining():
                    _log_wait_refused(method, path, error, deadline.remaining())
                    raise
                _log_retry(
                    method,
                    path,
                    attempt=attempt,
                    error=error,
                    wait=wait,
                    elapsed=self._clock() - started,
                )
                last_error = error
                self._sleep(wait)

    def _attempt(
        self,
        *,
        method: str,
        path: str,
        body: JSONValue,
        headers: dict[str, str],
        deadline: Deadline | None,
        secrets: tuple[Secret, ...],
    ) -> httpx.Response:
        wrapper = nullcontext() if self._on_call is None else self._on_call(method, path)
        with wrapper:
            request = self._request(method, path, body, headers, deadline)
            try:
                response = self._transport.handle_request(request)
                try:
                    read_within(
                        response,
                        limit=self._max_response_bytes,
                        deadline=deadline,
                        what=f"{method} {path}",
                    )
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                raise _transport_error(method, path, exc) from exc
            response.request = request
            if response.is_success:
                return response
            if response.status_code >= 400:
                raise error_from_response(
                    response, secrets=(self._api_key, *secrets), wall_clock=self._wall_clock
                )
            raise InvalidResponse(f"{method} {path}: unexpected status {response.status_code}")

    def _request(
        self,
        method: str,
        path: str,
        body: JSONValue,
        headers: dict[str, str],
        deadline: Deadline | None,
    ) -> httpx.Request:
        """The request for one attempt, with the headers and body `httpx.Client` would send.

        Given as raw header bytes and a ready body stream, so httpx neither re-encodes the
        constant headers nor works out Host and Content-Length again on every request.
        """
        raw = list(self._raw_headers)
        content = b""
        try:
            if headers:
                raw += [
                    (name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()
                ]
            if body is not None:
                content = json.dumps(
                    body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode()
                raw.append((b"Content-Type", _JSON_CONTENT_TYPE))
        except (UnicodeEncodeError, TypeError, ValueError) as exc:
            # The body or a header holds what cannot be sent; the value is not said, it may
            # be anything (a secret among them).
            raise InvalidRequest(
                f"{method} {path}: a value cannot be sent ({type(exc).__name__})"
            ) from None
        if content or method in _SENDS_A_BODY:
            raw.append((b"Content-Length", str(len(content)).encode()))
        return httpx.Request(
            method,
            self._url_for(path),
            headers=raw,
            stream=httpx.ByteStream(content),
            extensions={"timeout": self._timeouts_for(deadline)},
        )

    def _url_for(self, path: str) -> httpx.URL:
        """The absolute URL of `path` (as httpx joins it to the base URL), parsed once for the
        fixed paths; a schedule's own path (one per uuid) is not kept."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(self._base_url + path.lstrip("/"))
            if len(self._urls) < _KEPT_URLS:
                self._urls[path] = url
        return url

    def _timeouts_for(self, deadline: Deadline | None) -> dict[str, float | None]:
        """The configured timeouts (httpx's `timeout` extension), each cut to what is left
        before the deadline."""
        configured = self._timeout
        if deadline is None:
            return configured.as_dict()
        left = deadline.remaining()
        return {
            "connect": _within(configured.connect, left),
            "read": _within(configured.read, left),
            "write": _within(configured.write, left),
            "pool": _within(configured.pool, left),
        }


def _within(configured: float | None, left: float) -> float | None:
    if left == float("inf"):
        return configured
    return left if configured is None else min(configured, left)


def _log_retry(
    method: str, path: str, *, attempt: int, error: DailybotError, wait: float, elapsed: float
) -> None:
    logger.info(
        "Retrying Dailybot %s %s after attempt %d (%s) in %.3f s",
        method,
        path,
        attempt,
        type(error).__name__,
        wait,
        extra={
            "dailybot_method": method,
            "dailybot_path": path,
            "attempt": attempt,
            "wait_seconds": wait,
            "error": type(error).__name__,
            "elapsed_seconds": round(elapsed, 3),
        },
    )


def _log_wait_refused(method: str, path: str, error: DailybotError, allowed: float) -> None:
    """Says why a 429 failed at once: its Retry-After was longer than the wait allowed."""
    if not isinstance(error, RateLimited) or error.retry_after is None:
        return
    if error.retry_after <= allowed or isinstance(error, DailyLimitExceeded):
        return
    logger.info(
        "Dailybot %s %s asked to wait %.3f s, more than the %.3f s allowed: not retried",
        method,
        path,
        error.retry_after,
        allowed,
        extra={
            "dailybot_method": method,
            "dailybot_path": path,
            "retry_after_seconds": error.retry_after,
            "allowed_seconds": round(allowed, 3),
        },
    )


def _may_have_been_applied(error: DailybotError | None) -> bool:
    """Whether a failed attempt may still have reached the platform and taken effect."""
    return error is not None and not isinstance(error, ConnectError | RateLimited)


def _schedule_path(uuid: str) -> str:
    return f"{SCHEDULING_PATH}{quote(uuid, safe='')}/"


def _json(response: httpx.Response) -> JSONValue:
    try:
        value: JSONValue = response.json()
    except ValueError as exc:
        raise InvalidResponse(
            f"{response.request.method} {response.request.url.path}: the answer is not JSON"
        ) from exc
    return value


def _transport_error(method: str, path: str, exc: httpx.HTTPError) -> TransportError:
    """The tree's transport error for an httpx exception; messages never quote the request."""
    what = type(exc).__name__
    # These fail before a byte of the request is sent: the platform certainly never saw it.
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectError(f"{method} {path}: could not connect to the Dailybot API ({what})")
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"{method} {path}: the Dailybot API did not answer in time ({what})")
    return TransportError(f"{method} {path}: the exchange with the Dailybot API failed ({what})")
