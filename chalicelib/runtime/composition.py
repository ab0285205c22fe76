"""Builds the runtime once per container: settings, secrets, client, broker, ledger, intake.

Built lazily, on the first delivery, so the environment a test or `chalice local` sets up
before that delivery is the one used, and a health check never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from chalicelib.commands import load_commands
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.models import ExchangeTokenGrant
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.observability import logger, platform_call_tracer, protect_root_logging, redactor
from chalicelib.runtime.hooks import VerifiedDeliveryHook
from chalicelib.runtime.intake import Intake
from chalicelib.runtime.ledger import DeliveryLedger, open_store
from chalicelib.runtime.reconcile import build_hook
from chalicelib.runtime.registry import CommandRegistry, registry
from chalicelib.runtime.wire import IncomingRequest, OutgoingResponse
from chalicelib.secrets import CurrentSignatures, resolve_secrets
from chalicelib.settings import Settings, SettingsError

__all__ = ["LazyRuntime", "Runtime", "build_runtime", "container"]


@dataclass(frozen=True)
class Runtime:
    """The per-container objects a delivery needs."""

    settings: Settings
    client: DailybotClient
    broker: ExchangeTokenBroker
    ledger: DeliveryLedger
    intake: Intake

    def close(self) -> None:
        self.client.close()


def build_runtime(
    settings: Settings | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    hooks: Sequence[VerifiedDeliveryHook] | None = None,
    commands: CommandRegistry | None = None,
) -> Runtime:
    """The runtime for `settings` (from the environment by default).

    `hooks=None` wires the deployment's own (self-registration); tests pass their own list.
    """
    settings = resolve_secrets(settings or Settings.from_env())
    redactor.configure((settings.api_key, *(each.value for each in settings.signatures)))
    signatures = CurrentSignatures(
        settings,
        on_change=lambda fresh: redactor.configure(
            (settings.api_key, *(each.value for each in fresh))
        ),
    )
    protect_root_logging()
    if commands is None:
        load_commands()
        commands = registry
    store = open_store(
        settings.idempotency_store, dynamodb_endpoint=settings.idempotency_dynamodb_endpoint
    )
    ledger = DeliveryLedger(
        store,
        lock_seconds=settings.idempotency_lock_seconds,
        window_seconds=settings.idempotency_window_seconds,
    )
    client = DailybotClient.from_settings(
        settings, transport=transport, on_call=platform_call_tracer()
    )
    broker = ExchangeTokenBroker(
        RedactedTokenSource(client),
        ttl_seconds=settings.token_cache_seconds,
        max_entries=settings.token_cache_size,
    )
    if hooks is None:
        hooks = [build_hook(settings=settings, client=client, registry=commands)]
    intake = Intake(
        settings=settings,
        client=client,
        broker=broker,
        ledger=ledger,
        registry=commands,
        hooks=hooks,
        accepted_signatures=signatures,
    )
    return Runtime(settings, client, broker, ledger, intake)


class RedactedTokenSource:
    """The client as the broker's token source: every token it fetches is scrubbed from logs.

    A delivered token is remembered by the intake; one fetched for a delivery without a token
    is only known here.
    """

    def __init__(self, client: DailybotClient) -> None:
        self._client = client

    def fetch_exchange_token(
        self,
        user_uuid: str,
        *,
        include_user_context: bool = False,
        deadline: Deadline | None = None,
    ) -> ExchangeTokenGrant:
        grant = self._client.fetch_exchange_token(
            user_uuid, include_user_context=include_user_context, deadline=deadline
        )
        redactor.remember(grant.token)
        return grant


class LazyRuntime:
    """The container's runtime, built on first use (thread safe) and replaceable in tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None

    def get(self) -> Runtime:
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = build_runtime()
        return self._runtime

    def answer(self, request: IncomingRequest) -> OutgoingResponse:
        """The intake's answer, or a 503 while the settings keep the runtime from starting.

        A 503 makes Dailybot deliver again later, which succeeds once the deployment is fixed.
        """
        try:
            runtime = self.get()
        except SettingsError as error:
            # The message names the variable or parameter, never a secret value.
            logger.error("the runtime cannot start: %s", error)
            return OutgoingResponse.refusal(
                503, "not_configured", "The command's backend is not configured correctly."
            )
        return runtime.intake.handle(request)

    def reset(self, runtime: Runtime | None = None) -> None:
        """Drops the built runtime (closing it), or installs `runtime` instead."""
        with self._lock:
            if self._runtime is not None and self._runtime is not runtime:
                self._runtime.close()
            self._runtime = runtime


container = LazyRuntime()
"""The runtime of this process (one Lambda container, one `chalice local`)."""
