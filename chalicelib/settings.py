"""The runtime's settings: one frozen value read from the environment, every name in one place.

Names that Dailybot does not document (the ASSUMED fields of the delivery bodies) are settings
too, so a deployment can follow the platform if it names them differently.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar
from urllib.parse import urlsplit

from chalicelib.dailybot.answer_body import MAX_RESPONSE_BYTES
from chalicelib.redaction import Secret

DEFAULT_API_URL: Final = "https://api.dailybot.com/v1/"
DEFAULT_IDEMPOTENCY_STORE: Final = "sqlite:///.local/idempotency.sqlite3"
DEFAULT_JOBS_QUEUE: Final = "sqlite:///.local/jobs.sqlite3"
N = TypeVar("N", int, float)


class SettingsError(ValueError):
    """An environment variable holds a value the runtime cannot use."""


@dataclass(frozen=True)
class DeliveryFields:
    """Names of the delivery body's fields that Dailybot does not document (ASSUMED)."""

    command_uuid: str = "command_uuid"
    query: tuple[str, ...] = ("query", "text")
    exchange_token: str = "exchange_token"  # noqa: S105 - a field name, not a secret
    user_context: str = "user_context"
    scheduled_execution: str = "scheduled_execution"
    event: str = "event"
    hook: str = "hook"
    event_body: str = "body"
    target_channel: str = "target_channel"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliveryFields:
        def name(var: str, default: str) -> str:
            return env.get(var, "").strip() or default

        query = _split(env.get("DAILYBOT_FIELD_QUERY", "")) or cls.query
        return cls(
            command_uuid=name("DAILYBOT_FIELD_COMMAND_UUID", cls.command_uuid),
            query=query,
            exchange_token=name("DAILYBOT_FIELD_EXCHANGE_TOKEN", cls.exchange_token),
            user_context=name("DAILYBOT_FIELD_USER_CONTEXT", cls.user_context),
            scheduled_execution=name("DAILYBOT_FIELD_SCHEDULED_EXECUTION", cls.scheduled_execution),
            event=name("DAILYBOT_FIELD_EVENT", cls.event),
            hook=name("DAILYBOT_FIELD_HOOK", cls.hook),
            event_body=name("DAILYBOT_FIELD_EVENT_BODY", cls.event_body),
            target_channel=name("DAILYBOT_FIELD_TARGET_CHANNEL", cls.target_channel),
        )


@dataclass(frozen=True)
class AcceptedSignature:
    """One accepted `X-DailyBot-Signature` value and the command it belongs to.

    Written `command_uuid:signature` in `DAILYBOT_SIGNATURES` (and its parameter), the
    signature admits only deliveries naming that command; written plain, it admits any
    command (a deployment serving one command). `command_uuid` is kept in canonical form.
    """

    value: Secret
    command_uuid: str | None = None


def parse_signatures(raw: str) -> tuple[AcceptedSignature, ...]:
    """The accepted signatures listed in `raw`, comma separated, each bound or plain.

    An entry is bound when the text before its first `:` is a UUID; otherwise the whole entry
    is the signature, so a signature that itself contains a colon still works plain. A command
    with no signature after it is refused: read plain, it would accept its own guessable text.
    """
    accepted = []
    for entry in _split(raw):
        command, colon, signature = entry.partition(":")
        bound = _canonical_uuid(command) if colon else None
        if bound is None:
            accepted.append(AcceptedSignature(Secret(entry)))
        elif signature.strip():
            accepted.append(AcceptedSignature(Secret(signature.strip()), bound))
        else:
            raise SettingsError(f"the signature of command {bound} is empty")
    return tuple(accepted)


def _canonical_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Settings:
    """Everything the runtime reads from its environment, parsed and checked once."""

    api_url: str = DEFAULT_API_URL
    api_key: Secret | None = None
    signatures: tuple[AcceptedSignature, ...] = ()
    # Where the secrets live in AWS (SSM parameter or Secrets Manager names); the plain
    # variables above stay the local fallback.
    api_key_parameter: str | None = None
    signatures_parameter: str | None = None
    max_delivery_age_seconds: float = 300.0
    max_body_bytes: int = 256 * 1024
    idempotency_store: str = DEFAULT_IDEMPOTENCY_STORE
    # Another DynamoDB endpoint for the `dynamodb://` store (moto's server in tests).
    idempotency_dynamodb_endpoint: str | None = None
    idempotency_lock_seconds: int = 30
    idempotency_window_seconds: int = 3600
    reply_budget_seconds: float = 10.0
    # Kept back from the reply budget for building and sending the reply itself.
    reply_margin_seconds: float = 1.0
    token_cache_seconds: float = 900.0
    # At most this many (organization, user) tokens are cached; the least recently used go.
    token_cache_size: int = 1024
    http_connect_timeout_seconds: float = 2.0
    http_read_timeout_seconds: float = 5.0
    max_retry_after_seconds: float = 5.0
    # The longest answer the platform client reads; a longer one is `ResponseTooLarge`.
    max_response_bytes: int = MAX_RESPONSE_BYTES
    public_url: str | None = None
    owner_uuid: str | None = None
    # The owner's organization: where owner-only declarations are registered, and where
    # `make sync` starts before any delivery has recorded an organization.
    owner_organization: str | None = None
    reconcile_period_seconds: float = 3600.0
    registry_namespace: str = "dailybot-runtime"
    storage_namespace: str | None = None
    # Deferred jobs: where they queue (`sqlite:///PATH` or `sqs://QUEUE-URL`), how often a
    # failing one runs, the first retry's delay (doubling after), and how long one may run.
    jobs_queue: str = DEFAULT_JOBS_QUEUE
    jobs_attempts: int = 3
    jobs_backoff_seconds: float = 10.0
    jobs_timeout_seconds: int = 300
    # A chain of jobs deferring jobs stops this deep; one run defers at most this many.
    jobs_max_chain: int = 10
    jobs_max_fanout: int = 100
    # Whether every command invocation is recorded as activity `usage/triggered/<intent>`:
    # one platform call per command, counted against the credential's rate limit.
    usage_activity: bool = True
    fields: DeliveryFields = field(default_factory=DeliveryFields)

    def __post_init__(self) -> None:
        if not self.api_url.endswith("/"):
            object.__setattr__(self, "api_url", self.api_url + "/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment by default), each checked as it is
        read: a value the runtime cannot use raises `SettingsError` naming the variable
        (the app answers 503 `not_configured`); nothing is silently changed."""
        read = EnvReader(os.environ if env is None else env)
        api_key = read.optional("DAILYBOT_API_KEY")
        settings = cls(
            api_url=read.url("DAILYBOT_API_URL") or DEFAULT_API_URL,
            api_key=Secret(api_key) if api_key else None,
            signatures=_signatures(read.env),
            api_key_parameter=read.optional("DAILYBOT_API_KEY_PARAMETER"),
            signatures_parameter=read.optional("DAILYBOT_SIGNATURES_PARAMETER"),
            max_delivery_age_seconds=read.number("DAILYBOT_MAX_DELIVERY_AGE", 300.0),
            max_body_bytes=read.whole(
                "DAILYBOT_MAX_BODY_BYTES", 256 * 1024, maximum=LAMBDA_PAYLOAD_BYTES
            ),
            idempotency_store=read.store(
                "IDEMPOTENCY_STORE", DEFAULT_IDEMPOTENCY_STORE, IDEMPOTENCY_STORES
            ),
            idempotency_dynamodb_endpoint=read.url("IDEMPOTENCY_DYNAMODB_ENDPOINT"),
            idempotency_lock_seconds=read.whole("IDEMPOTENCY_LOCK_SECONDS", 30),
            idempotency_window_seconds=read.whole("IDEMPOTENCY_WINDOW_SECONDS", 3600),
            reply_budget_seconds=read.number("DAILYBOT_REPLY_BUDGET", 10.0, above=0.0),
            reply_margin_seconds=read.number("DAILYBOT_REPLY_MARGIN", 1.0),
            token_cache_seconds=read.number("DAILYBOT_TOKEN_CACHE_SECONDS", 900.0),
            token_cache_size=read.whole("DAILYBOT_TOKEN_CACHE_SIZE", 1024),
            http_connect_timeout_seconds=read.number("DAILYBOT_CONNECT_TIMEOUT", 2.0, above=0.0),
            http_read_timeout_seconds=read.number("DAILYBOT_READ_TIMEOUT", 5.0, above=0.0),
            max_retry_after_seconds=read.number("DAILYBOT_MAX_RETRY_AFTER", 5.0),
            max_response_bytes=read.whole("DAILYBOT_MAX_RESPONSE_BYTES", MAX_RESPONSE_BYTES),
            public_url=read.url("DAILYBOT_PUBLIC_URL"),
            owner_uuid=read.uuid("DAILYBOT_OWNER_UUID"),
            owner_organization=read.uuid("DAILYBOT_OWNER_ORGANIZATION"),
            reconcile_period_seconds=read.number("DAILYBOT_RECONCILE_PERIOD", 3600.0, above=0.0),
            registry_namespace=read.optional("DAILYBOT_REGISTRY_NAMESPACE") or "dailybot-runtime",
            storage_namespace=read.optional("DAILYBOT_STORAGE_NAMESPACE"),
            jobs_queue=read.store("JOBS_QUEUE", DEFAULT_JOBS_QUEUE, JOBS_QUEUES),
            jobs_attempts=read.whole("JOBS_ATTEMPTS", 3, maximum=MOST_JOB_ATTEMPTS),
            jobs_backoff_seconds=read.number(
                "JOBS_BACKOFF_SECONDS", 10.0, maximum=LONGEST_VISIBILITY_SECONDS
            ),
            jobs_timeout_seconds=read.whole(
                "JOBS_TIMEOUT_SECONDS", 300, maximum=LONGEST_VISIBILITY_SECONDS
            ),
            usage_activity=read.switch("DAILYBOT_USAGE_ACTIVITY", default=True),
            jobs_max_chain=read.whole("JOBS_MAX_CHAIN", 10),
            jobs_max_fanout=read.whole("JOBS_MAX_FANOUT", 100),
            fields=DeliveryFields.from_env(read.env),
        )
        _check_together(settings)
        return settings


def _check_together(settings: Settings) -> None:
    """What no one variable can be checked for alone."""
    if settings.reply_margin_seconds >= settings.reply_budget_seconds:
        raise SettingsError(
            f"DAILYBOT_REPLY_MARGIN ({settings.reply_margin_seconds:g}) must be less than"
            f" DAILYBOT_REPLY_BUDGET ({settings.reply_budget_seconds:g}): the margin is kept"
            " back from the budget for sending the reply"
        )


# Bounds that come from AWS: Lambda's synchronous request size, SQS's longest visibility
# timeout (12 hours) and its redrive's largest receive count.
LAMBDA_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
LONGEST_VISIBILITY_SECONDS: Final = 12 * 3600
MOST_RECEIVES: Final = 1000
MOST_JOB_ATTEMPTS: Final = MOST_RECEIVES - 2
"""SQS redrives after at most 1000 receives, and the queue's redrive allows two receives more
than the attempts (`jobs/retry.py`)."""
# Each store's URL schemes and what follows the scheme.
IDEMPOTENCY_STORES: Final = {"sqlite:///": "PATH", "dynamodb://": "TABLE"}
JOBS_QUEUES: Final = {"sqlite:///": "PATH", "sqs://": "QUEUE-URL"}


_SWITCH_VALUES: Final = {"on": True, "off": False}


class EnvReader:
    """The variables of one environment, each checked as it is read.

    Every reader takes the variable's name and its default (used when the variable is unset
    or blank) and raises `SettingsError` naming the variable for a value it cannot use, never
    bending it into range.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def switch(self, name: str, *, default: bool) -> bool:
        """`on` or `off` (any case); anything else is an error."""
        raw = self.raw(name)
        if not raw:
            return default
        if raw.lower() not in _SWITCH_VALUES:
            raise SettingsError(f"{name} must be on or off, got {raw!r}")
        return _SWITCH_VALUES[raw.lower()]

    def optional(self, name: str) -> str | None:
        """The text, or None when unset."""
        return self.raw(name) or None

    def _parsed(self, name: str, parse: Callable[[str], N], what: str) -> tuple[str, N] | None:
        """The text and what `parse` makes of it, or None when unset."""
        raw = self.raw(name)
        if not raw:
            return None
        try:
            return raw, parse(raw)
        except ValueError:
            raise SettingsError(f"{name} must be {what}, got {raw!r}") from None

    def number(
        self,
        name: str,
        default: float,
        *,
        minimum: float = 0.0,
        above: float | None = None,
        maximum: float = math.inf,
    ) -> float:
        """A finite number from `minimum` (or strictly `above`) to `maximum`."""
        parsed = self._parsed(name, float, "a number")
        if parsed is None:
            return default
        raw, value = parsed
        if not math.isfinite(value):
            raise SettingsError(f"{name} must be a finite number, got {raw!r}")
        if value < minimum:
            raise SettingsError(f"{name} must not be below {minimum:g}, got {raw!r}")
        if above is not None and value <= above:
            raise SettingsError(f"{name} must be above {above:g}, got {raw!r}")
        if value > maximum:
            raise SettingsError(f"{name} must be at most {maximum:g}, got {raw!r}")
        return value

    def whole(
        self, name: str, default: int, *, minimum: int = 1, maximum: int | None = None
    ) -> int:
        """A whole number from `minimum` (1 by default: a positive count) to `maximum`."""
        parsed = self._parsed(name, int, "a whole number")
        if parsed is None:
            return default
        raw, value = parsed
        if value < minimum or (maximum is not None and value > maximum):
            span = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise SettingsError(f"{name} must be a whole number {span}, got {raw!r}")
        return value

    def url(self, name: str) -> str | None:
        """An http(s) URL with a host, or None when unset. The value is not repeated in the
        error: a URL may carry credentials."""
        raw = self.raw(name)
        if not raw:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{name} must be an http:// or https:// URL with a host")
        return raw

    def uuid(self, name: str) -> str | None:
        """A UUID, or None when unset."""
        raw = self.raw(name)
        if raw and _canonical_uuid(raw) is None:
            raise SettingsError(f"{name} must be a UUID, got {raw!r}")
        return raw or None

    def store(self, name: str, default: str, schemes: Mapping[str, str]) -> str:
        """A URL of one of `schemes` with something after the scheme (`sqlite:///PATH`)."""
        raw = self.raw(name) or default
        for scheme in schemes:
            if raw.startswith(scheme) and raw[len(scheme) :].strip():
                return raw
        forms = " or ".join(f"{scheme}{rest}" for scheme, rest in schemes.items())
        raise SettingsError(f"{name} must be {forms}, got {raw!r}")


def _signatures(env: Mapping[str, str]) -> tuple[AcceptedSignature, ...]:
    try:
        return parse_signatures(env.get("DAILYBOT_SIGNATURES", ""))
    except SettingsError as error:
        raise SettingsError(f"DAILYBOT_SIGNATURES: {error}") from None


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())
