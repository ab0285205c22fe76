"""The runtime's settings: one frozen value read from the environment, every name in one place.

Names that Dailybot does not document (the ASSUMED fields of the delivery bodies) are settings
too, so a deployment can follow the platform if it names them differently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from chalicelib.redaction import Secret

DEFAULT_API_URL: Final = "https://api.dailybot.com/v1/"
DEFAULT_IDEMPOTENCY_STORE: Final = "sqlite:///.local/idempotency.sqlite3"
DEFAULT_JOBS_QUEUE: Final = "sqlite:///.local/jobs.sqlite3"


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
    public_url: str | None = None
    owner_uuid: str | None = None
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
    fields: DeliveryFields = field(default_factory=DeliveryFields)

    def __post_init__(self) -> None:
        if not self.api_url.endswith("/"):
            object.__setattr__(self, "api_url", self.api_url + "/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment by default); bad values raise."""
        env = os.environ if env is None else env
        api_key = env.get("DAILYBOT_API_KEY", "").strip()
        return cls(
            api_url=env.get("DAILYBOT_API_URL", "").strip() or DEFAULT_API_URL,
            api_key=Secret(api_key) if api_key else None,
            signatures=_signatures(env),
            api_key_parameter=_optional(env, "DAILYBOT_API_KEY_PARAMETER"),
            signatures_parameter=_optional(env, "DAILYBOT_SIGNATURES_PARAMETER"),
            max_delivery_age_seconds=_number(env, "DAILYBOT_MAX_DELIVERY_AGE", 300.0),
            max_body_bytes=int(_number(env, "DAILYBOT_MAX_BODY_BYTES", 256 * 1024)),
            idempotency_store=env.get("IDEMPOTENCY_STORE", "").strip() or DEFAULT_IDEMPOTENCY_STORE,
            idempotency_dynamodb_endpoint=_optional(env, "IDEMPOTENCY_DYNAMODB_ENDPOINT"),
            idempotency_lock_seconds=int(_number(env, "IDEMPOTENCY_LOCK_SECONDS", 30)),
            idempotency_window_seconds=int(_number(env, "IDEMPOTENCY_WINDOW_SECONDS", 3600)),
            reply_budget_seconds=_number(env, "DAILYBOT_REPLY_BUDGET", 10.0),
            reply_margin_seconds=_number(env, "DAILYBOT_REPLY_MARGIN", 1.0),
            token_cache_seconds=_number(env, "DAILYBOT_TOKEN_CACHE_SECONDS", 900.0),
            token_cache_size=int(_number(env, "DAILYBOT_TOKEN_CACHE_SIZE", 1024)),
            http_connect_timeout_seconds=_number(env, "DAILYBOT_CONNECT_TIMEOUT", 2.0),
            http_read_timeout_seconds=_number(env, "DAILYBOT_READ_TIMEOUT", 5.0),
            max_retry_after_seconds=_number(env, "DAILYBOT_MAX_RETRY_AFTER", 5.0),
            public_url=_optional(env, "DAILYBOT_PUBLIC_URL"),
            owner_uuid=_optional(env, "DAILYBOT_OWNER_UUID"),
            reconcile_period_seconds=_number(env, "DAILYBOT_RECONCILE_PERIOD", 3600.0),
            registry_namespace=_optional(env, "DAILYBOT_REGISTRY_NAMESPACE") or "dailybot-runtime",
            storage_namespace=_optional(env, "DAILYBOT_STORAGE_NAMESPACE"),
            jobs_queue=_optional(env, "JOBS_QUEUE") or DEFAULT_JOBS_QUEUE,
            jobs_attempts=max(1, int(_number(env, "JOBS_ATTEMPTS", 3))),
            jobs_backoff_seconds=_number(env, "JOBS_BACKOFF_SECONDS", 10.0),
            jobs_timeout_seconds=max(1, int(_number(env, "JOBS_TIMEOUT_SECONDS", 300))),
            jobs_max_chain=_at_least_one(env, "JOBS_MAX_CHAIN", 10),
            jobs_max_fanout=_at_least_one(env, "JOBS_MAX_FANOUT", 100),
            fields=DeliveryFields.from_env(env),
        )


def _signatures(env: Mapping[str, str]) -> tuple[AcceptedSignature, ...]:
    try:
        return parse_signatures(env.get("DAILYBOT_SIGNATURES", ""))
    except SettingsError as error:
        raise SettingsError(f"DAILYBOT_SIGNATURES: {error}") from None


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _at_least_one(env: Mapping[str, str], name: str, default: int) -> int:
    value = float(_number(env, name, default))
    if not value.is_integer() or value < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, got {env[name]!r}")
    return int(value)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value
