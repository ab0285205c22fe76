"""The intake: every delivery goes through the same gates, once, in this order.

1. signature (401 `invalid_signature`, nothing else happens, nothing about it is logged)
2. parse and validate (4xx `{"code", "message"}`); a signature bound to another command than
   the one the body names is refused here (401 `signature_not_for_command`)
3. freshness (4xx `stale_delivery` / `delivery_in_future`)
4. de-duplication (a duplicate gets the first reply; one still running, a polite reply)
5. verified-delivery hooks (self-registration), then dispatch to the registered handler

The whole answer must leave within the reply budget (Dailybot waits ten seconds); handlers
get that budget less a margin, and every platform call they make carries it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import DailybotError
from chalicelib.dailybot.tokens import ExchangeTokenBroker, TokenSession
from chalicelib.observability import DeliveryObservation, logger, redactor
from chalicelib.runtime.context import Activity, DeliveryContext
from chalicelib.runtime.delivery import Delivery, DeliveryKind, DeliveryRefused, parse_delivery
from chalicelib.runtime.freshness import freshness_problem
from chalicelib.runtime.hooks import VerifiedDeliveryHook
from chalicelib.runtime.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    LedgerUnavailable,
    StoredReply,
)
from chalicelib.runtime.registry import CommandRegistry, Handler
from chalicelib.runtime.replies import (
    ACKNOWLEDGED,
    Reply,
    as_reply,
    failure_reply,
    in_progress_reply,
    overrun_reply,
    unknown_command_reply,
)
from chalicelib.runtime.signature import matching_signature
from chalicelib.runtime.wire import IncomingRequest, OutgoingResponse
from chalicelib.runtime.worker import Overrun, run_within
from chalicelib.settings import AcceptedSignature, Settings

# A hook (self-registration) may use at most this much of the reply budget.
HOOK_BUDGET_SECONDS: Final = 3.0

_OTHER_COMMAND: Final = (
    "signature_not_for_command",
    "The X-DailyBot-Signature header belongs to another command than the one named.",
)
_FRESHNESS: Final = {
    "stale": ("stale_delivery", "The delivery is older than the accepted window."),
    "future": ("delivery_in_future", "The delivery's timestamp is too far in the future."),
}


class _Verdict(NamedTuple):
    """The answer to a delivery and how to log it (`outcome`: answered, duplicate, refused,
    failed; `reason`: a short code for why)."""

    response: OutgoingResponse
    outcome: str
    reason: str | None = None


class Intake:
    """Turns an incoming request into the answer Dailybot gets."""

    def __init__(
        self,
        *,
        settings: Settings,
        client: DailybotClient,
        broker: ExchangeTokenBroker,
        ledger: DeliveryLedger,
        registry: CommandRegistry,
        hooks: Sequence[VerifiedDeliveryHook] = (),
        wall_clock: Callable[[], float] = time.time,
        accepted_signatures: Callable[[], Sequence[AcceptedSignature]] | None = None,
    ) -> None:
        self._settings = settings
        # Read on every delivery (through a cache) so a rotated signature needs no restart.
        self._accepted_signatures = accepted_signatures or (lambda: settings.signatures)
        self._client = client
        self._broker = broker
        self._ledger = ledger
        self._registry = registry
        self._hooks = tuple(hooks)
        self._wall_clock = wall_clock

    def handle(self, request: IncomingRequest) -> OutgoingResponse:
        """The answer to one delivery; never raises."""
        deadline = Deadline.after(self._settings.reply_budget_seconds)
        observation = DeliveryObservation()
        try:
            verdict = self._handle(request, deadline, observation)
        except Exception:
            logger.exception("the intake failed")
            refusal = OutgoingResponse.refusal(
                500, "internal_error", "The delivery could not be handled."
            )
            verdict = _Verdict(refusal, "failed", "internal_error")
        observation.finish(verdict.outcome, status=verdict.response.status, reason=verdict.reason)
        return verdict.response

    def _handle(
        self, request: IncomingRequest, deadline: Deadline, observation: DeliveryObservation
    ) -> _Verdict:
        signature = matching_signature(request.headers, self._accepted_signatures())
        if signature is None:
            refusal = OutgoingResponse.refusal(
                401, "invalid_signature", "The X-DailyBot-Signature header is missing or wrong."
            )
            return _Verdict(refusal, "refused", "invalid_signature")
        try:
            delivery = parse_delivery(
                request.body, self._settings.fields, max_bytes=self._settings.max_body_bytes
            )
        except DeliveryRefused as refused:
            refusal = OutgoingResponse.refusal(refused.status, refused.code, refused.message)
            return _Verdict(refusal, "refused", refused.code)
        if not signature.covers(delivery.command_uuid):
            refusal = OutgoingResponse.refusal(401, *_OTHER_COMMAND)
            return _Verdict(refusal, "refused", _OTHER_COMMAND[0])
        redactor.remember(delivery.exchange_token)
        observation.identify(
            correlation_id=delivery.identity[:16], kind=delivery.kind, subject=delivery.subject
        )
        problem = freshness_problem(
            delivery.sent_at, self._wall_clock(), self._settings.max_delivery_age_seconds
        )
        if problem is not None:
            code, message = _FRESHNESS[problem]
            return _Verdict(OutgoingResponse.refusal(400, code, message), "refused", code)
        return self._run_once(delivery, deadline, observation)

    def _run_once(
        self, delivery: Delivery, deadline: Deadline, observation: DeliveryObservation
    ) -> _Verdict:
        try:
            outcome = self._ledger.run_once(
                delivery.identity, lambda: self._run(delivery, deadline, observation)
            )
        except DeliveryInProgress:
            polite = OutgoingResponse(200, in_progress_reply().to_json())
            return _Verdict(polite, "duplicate", "in_progress")
        except LedgerUnavailable:
            logger.exception("the idempotency store failed")
            refusal = OutgoingResponse.refusal(
                503, "store_unavailable", "The delivery cannot be handled right now."
            )
            return _Verdict(refusal, "failed", "store_unavailable")
        stored = outcome.reply
        body = stored.get("body")
        response = OutgoingResponse(200, body if isinstance(body, dict) else dict(ACKNOWLEDGED))
        if not outcome.ran:
            return _Verdict(response, "duplicate")
        reason = stored.get("reason")
        return _Verdict(
            response,
            str(stored.get("outcome", "answered")),
            reason if isinstance(reason, str) else None,
        )

    # -- one run of a delivery (inside the idempotency claim) ---------------------------------

    def _run(
        self, delivery: Delivery, deadline: Deadline, observation: DeliveryObservation
    ) -> StoredReply:
        handler_deadline = deadline.shortened(self._settings.reply_margin_seconds)
        tokens = self._broker.session(
            delivery.organization_uuid, delivery.user_uuid, delivered=delivery.exchange_token
        )
        self._run_hooks(delivery, tokens, handler_deadline, observation)
        handler = self._handler_for(delivery)
        if handler is None:
            return self._unhandled(delivery)
        context = DeliveryContext.build(
            delivery,
            client=self._client,
            tokens=tokens,
            deadline=handler_deadline,
            storage_namespace=self._settings.storage_namespace,
        )
        try:
            reply = run_within(
                lambda: self._call_handler(handler, context, observation),
                handler_deadline.remaining(),
            )
        except Overrun:
            observation.handler_errors += 1
            logger.warning("the handler overran its time budget")
            return _stored(overrun_reply(delivery.subject), "failed", "overrun")
        except Exception as exc:
            return self._failed(delivery, tokens, deadline, observation, exc)
        body = ACKNOWLEDGED if reply is None else reply.to_json()
        return {"body": dict(body), "outcome": "answered"}

    def _run_hooks(
        self,
        delivery: Delivery,
        tokens: TokenSession,
        deadline: Deadline,
        observation: DeliveryObservation,
    ) -> None:
        for hook in self._hooks:
            capped = Deadline(
                at=min(deadline.at, deadline.clock() + HOOK_BUDGET_SECONDS), clock=deadline.clock
            )
            try:
                hook(organization_uuid=delivery.organization_uuid, tokens=tokens, deadline=capped)
            except Exception:
                observation.hook_errors += 1
                logger.exception("a verified-delivery hook failed")

    def _handler_for(self, delivery: Delivery) -> Handler | None:
        if delivery.event is not None:
            return self._registry.event_handler(delivery.event.name)
        if delivery.scheduled is not None:
            return self._registry.scheduled_handler(delivery.scheduled.name)
        return self._registry.command_for(delivery.intent or "")

    def _unhandled(self, delivery: Delivery) -> StoredReply:
        if delivery.kind is DeliveryKind.COMMAND:
            reply = unknown_command_reply(delivery.subject, self._registry.commands())
            return _stored(reply, "answered", "unknown_command")
        logger.warning("no handler for this delivery; acknowledged")
        return {"body": dict(ACKNOWLEDGED), "outcome": "answered", "reason": "no_handler"}

    def _call_handler(
        self, handler: Handler, context: DeliveryContext, observation: DeliveryObservation
    ) -> Reply | None:
        if context.kind is DeliveryKind.COMMAND:
            self._record_usage(context, observation)
        return as_reply(handler(context))

    def _record_usage(self, context: DeliveryContext, observation: DeliveryObservation) -> None:
        try:
            context.activity.record(
                "usage", "triggered", label=context.intent, user_uuid=context.user.uuid
            )
        except DailybotError:
            observation.platform_errors += 1
            logger.warning("could not record the command's usage", exc_info=True)

    def _failed(
        self,
        delivery: Delivery,
        tokens: TokenSession,
        deadline: Deadline,
        observation: DeliveryObservation,
        exc: Exception,
    ) -> StoredReply:
        platform = isinstance(exc, DailybotError)
        if platform:
            observation.platform_errors += 1
        else:
            observation.handler_errors += 1
        logger.exception("the handler failed", exc_info=exc)
        action = "platform_failed" if platform else "handler_failed"
        # Best effort, within the margin kept for the reply: the platform may be what failed.
        activity = Activity(
            self._client, tokens, deadline.shortened(self._settings.reply_margin_seconds / 2)
        )
        try:
            activity.record(
                "error",
                action,
                label=delivery.subject,
                metadata={"kind": str(delivery.kind), "error": type(exc).__name__},
                user_uuid=delivery.user_uuid,
            )
        except DailybotError:
            logger.warning("could not record the failure in the activity log", exc_info=True)
        return _stored(failure_reply(delivery.subject), "failed", action)


def _stored(reply: Reply, outcome: str, reason: str | None) -> StoredReply:
    return {"body": reply.to_json(), "outcome": outcome, "reason": reason}
