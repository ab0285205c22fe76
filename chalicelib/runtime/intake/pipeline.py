"""The intake: every delivery goes through the same gates, once, in this order.

1. signature (401 `invalid_signature`, nothing else happens, nothing about it is logged)
2. parse and validate (4xx `{"code", "message"}`); a signature bound to another command than
   the one the body names is refused here (401 `signature_not_for_command`)
3. freshness (4xx `stale_delivery` / `delivery_in_future`)
4. de-duplication (a duplicate gets the first reply; one still running, a polite reply)
5. the self-registration check, then dispatch to the registered handler

The whole answer must leave within the reply budget (Dailybot waits ten seconds); handlers
get that budget less a margin, and every platform call they make carries it. One `Verdict`
(the response and how to log it) comes out of every path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Protocol

from chalicelib.dailybot.call_options import CORRELATION_HEADER
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import DailybotError, InvalidRequest, ValidationFailed
from chalicelib.dailybot.models import JSONValue
from chalicelib.observability import DeliveryObservation, logger, redactor
from chalicelib.runtime.context import Context, PlatformSession
from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.execution import Ended, Execution, HandlerExecutor
from chalicelib.runtime.idempotency.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    LedgerUnavailable,
    Replayed,
)
from chalicelib.runtime.intake.delivery import (
    Delivery,
    DeliveryKind,
    DeliveryRefused,
    parse_delivery,
)
from chalicelib.runtime.intake.gates import freshness_problem, matching_signature
from chalicelib.runtime.intake.http import IncomingRequest, OutgoingResponse
from chalicelib.runtime.intake.worker import Overrun, wait_within, workers
from chalicelib.runtime.jobs.deferral import DeferralLimits, Deferring, JobCollector
from chalicelib.runtime.jobs.queue import JobQueue
from chalicelib.runtime.registration.cold_start import count_reconcile_error
from chalicelib.runtime.registry import CommandRegistry, Handler
from chalicelib.runtime.replies import (
    ACKNOWLEDGED,
    Reply,
    deferral_refused_reply,
    failure_reply,
    in_progress_reply,
    overrun_reply,
    refused_reply,
    unknown_command_reply,
)
from chalicelib.settings import AcceptedSignature, Settings

# The self-registration check may use at most this much of the reply budget.
REGISTRATION_BUDGET_SECONDS: Final = 3.0

_OTHER_COMMAND: Final = (
    "signature_not_for_command",
    "The X-DailyBot-Signature header belongs to another command than the one named.",
)
_FRESHNESS: Final = {
    "stale": ("stale_delivery", "The delivery is older than the accepted window."),
    "future": ("delivery_in_future", "The delivery's timestamp is too far in the future."),
}


class JobsNotQueued(Exception):
    """The run succeeded but its deferred jobs could not be queued: the run does not count."""


class RegistrationCheck(Protocol):
    """What the intake runs beside the handler of a new verified delivery whenever it is due
    (the cold-start reconcile is the one the deployment wires)."""

    def due(self, organization_uuid: str) -> bool:
        """Whether `check` has work to do now for the organization; asked on every new
        delivery, so cheap."""
        ...

    def check(self, delivery: Delivery, session: PlatformSession) -> None: ...


@dataclass(frozen=True)
class Verdict:
    """The answer to a delivery and how to log it (`outcome`: answered, duplicate, refused,
    failed; `reason`: a short code for why)."""

    response: OutgoingResponse
    outcome: str
    reason: str | None = None

    @classmethod
    def refused(cls, status: int, code: str, message: str, *, outcome: str = "refused") -> Verdict:
        return cls(OutgoingResponse.refusal(status, code, message), outcome, code)

    @classmethod
    def reply(
        cls, reply: Reply | None, outcome: str = "answered", reason: str | None = None
    ) -> Verdict:
        body = ACKNOWLEDGED if reply is None else reply.to_json()
        return cls(OutgoingResponse(200, body), outcome, reason)


def _check_registration(
    check: RegistrationCheck, delivery: Delivery, session: PlatformSession
) -> None:
    try:
        check.check(delivery, session)
    except Exception:
        # The cold-start check never raises; another check must not fail the delivery.
        count_reconcile_error()
        logger.exception("the self-registration check failed")


def _join_registration(running: Future[None], deadline: Deadline) -> None:
    """Waits for the check within its own deadline; its platform calls end by then."""
    try:
        wait_within(running, deadline.remaining())
    except Overrun:
        logger.warning("the self-registration check outlived its budget; the reply goes on")


def _reply_body(verdict: Verdict) -> dict[str, JSONValue]:
    """What the ledger keeps for a duplicate: the reply body alone."""
    return dict(verdict.response.body)


class Intake:
    """Turns an incoming request into the answer Dailybot gets."""

    def __init__(
        self,
        *,
        settings: Settings,
        executor: HandlerExecutor,
        ledger: DeliveryLedger,
        registry: CommandRegistry,
        registration: RegistrationCheck | None = None,
        jobs: JobQueue | None = None,
        deferral_limits: DeferralLimits | None = None,
        wall_clock: Callable[[], float] = time.time,
        accepted_signatures: Callable[[], Sequence[AcceptedSignature]] | None = None,
    ) -> None:
        self._settings = settings
        # Read on every delivery (through a cache) so a rotated signature needs no restart.
        self._accepted_signatures = accepted_signatures or (lambda: settings.signatures)
        self._executor = executor
        self._ledger = ledger
        self._registry = registry
        self._registration = registration
        self._jobs = jobs
        self._deferral_limits = deferral_limits or DeferralLimits()
        self._wall_clock = wall_clock

    def handle(self, request: IncomingRequest) -> OutgoingResponse:
        """The answer to one delivery; never raises."""
        deadline = Deadline(at=request.received_at + self._settings.reply_budget_seconds)
        observation = DeliveryObservation()
        try:
            verdict = self._handle(request, deadline, observation)
        except Exception:
            logger.exception("the intake failed")
            verdict = Verdict.refused(
                500, "internal_error", "The delivery could not be handled.", outcome="failed"
            )
        observation.finish(verdict.outcome, status=verdict.response.status, reason=verdict.reason)
        if observation.correlation_id is None:
            return verdict.response
        return verdict.response.with_header(CORRELATION_HEADER, observation.correlation_id)

    def _handle(
        self, request: IncomingRequest, deadline: Deadline, observation: DeliveryObservation
    ) -> Verdict:
        signature = matching_signature(request.headers, self._accepted_signatures())
        if signature is None:
            return Verdict.refused(
                401, "invalid_signature", "The X-DailyBot-Signature header is missing or wrong."
            )
        try:
            delivery = parse_delivery(
                request.body, self._settings.fields, max_bytes=self._settings.max_body_bytes
            )
        except DeliveryRefused as refused:
            return Verdict.refused(refused.status, refused.code, refused.message)
        if not signature.covers(delivery.command_uuid):
            return Verdict.refused(401, *_OTHER_COMMAND)
        redactor.remember(delivery.exchange_token)
        observation.identify(
            correlation_id=delivery.correlation_id, kind=delivery.kind, subject=delivery.subject
        )
        problem = freshness_problem(
            delivery.sent_at, self._wall_clock(), self._settings.max_delivery_age_seconds
        )
        if problem is not None:
            code, message = _FRESHNESS[problem]
            return Verdict.refused(400, code, message)
        return self._run_once(delivery, deadline, observation)

    def _run_once(
        self, delivery: Delivery, deadline: Deadline, observation: DeliveryObservation
    ) -> Verdict:
        try:
            outcome = self._ledger.run_once(
                delivery.identity,
                lambda: self._run(delivery, deadline, observation),
                remember=_reply_body,
                # The store gets what the handler's budget leaves, never the reply's margin.
                wait_until=deadline.shortened(self._settings.reply_margin_seconds / 2).at,
                claim_until=deadline.shortened(self._settings.reply_margin_seconds).at,
            )
        except DeliveryInProgress:
            return Verdict.reply(in_progress_reply(), "duplicate", "in_progress")
        except JobsNotQueued:
            logger.exception("the deferred jobs could not be queued")
            return Verdict.refused(
                503,
                "queue_unavailable",
                "The delivery cannot be handled right now.",
                outcome="failed",
            )
        except LedgerUnavailable:
            logger.exception("the idempotency store failed")
            return Verdict.refused(
                503,
                "store_unavailable",
                "The delivery cannot be handled right now.",
                outcome="failed",
            )
        if isinstance(outcome, Replayed):
            return Verdict(OutgoingResponse(200, outcome.body or dict(ACKNOWLEDGED)), "duplicate")
        return outcome

    # -- one run of a delivery (inside the idempotency claim) ---------------------------------

    def _run(
        self, delivery: Delivery, deadline: Deadline, observation: DeliveryObservation
    ) -> Verdict:
        handler_deadline = deadline.shortened(self._settings.reply_margin_seconds)
        handler = self._handler_for(delivery)
        collector = None
        if self._jobs is not None:
            deferring = Deferring(parent_identity=delivery.identity, delivery=delivery)
            collector = JobCollector(self._registry, deferring, self._deferral_limits)
        # A command's usage record is made while its handler runs on a worker, so the reply
        # waits for the slower of the two, not for both in a row; a handler reading the
        # activity log waits for the record first, so it sees its own invocation.
        recorded = (
            handler is not None
            and delivery.kind is DeliveryKind.COMMAND
            and self._settings.usage_activity
        )
        usage_recorded = threading.Event() if recorded else None
        execution = self._executor.start(
            delivery,
            handler_deadline,
            deferrer=collector,
            before_activity_read=None if usage_recorded is None else usage_recorded.wait,
        )
        registering = self._start_registration(delivery, execution.session, handler_deadline)
        try:
            if handler is None:
                return self._unhandled(delivery)
            beside = None
            if usage_recorded is not None:
                beside = lambda: self._record_usage(execution.context, observation, usage_recorded)  # noqa: E731
            ended = execution.call(handler, beside=beside)
            verdict = self._verdict(execution, ended, deadline, observation)
            if ended.ok and collector is not None:
                self._queue(collector)
            return verdict
        finally:
            if registering is not None:
                _join_registration(*registering)

    def _verdict(
        self,
        execution: Execution,
        ended: Ended,
        deadline: Deadline,
        observation: DeliveryObservation,
    ) -> Verdict:
        delivery = execution.delivery
        if ended.overran:
            observation.handler_errors += 1
            logger.warning("the handler overran its time budget")
            execution.record_failure(
                execution.overrun_error(),
                action="handler_overran",
                label=delivery.subject,
                metadata={"kind": str(delivery.kind)},
                within=self._failure_deadline(deadline),
            )
            return Verdict.reply(overrun_reply(delivery.subject), "failed", "overrun")
        if ended.error is None:
            return Verdict.reply(ended.reply)
        return self._failed(execution, ended.error, deadline, observation)

    def _queue(self, collector: JobCollector) -> None:
        """Queues what the run deferred, now that it finished (still inside its claim)."""
        assert self._jobs is not None
        try:
            for message in collector.collected():
                self._jobs.send(message)
        except Exception as exc:
            # The claim is released: a redelivery runs again and queues the same identities,
            # which the job runner runs once.
            raise JobsNotQueued(type(exc).__name__) from exc

    def _start_registration(
        self, delivery: Delivery, session: PlatformSession, handler_deadline: Deadline
    ) -> tuple[Future[None], Deadline] | None:
        """The self-registration check, started beside the handler when it is due.

        On a container's first delivery it reads the stored registrations (a platform round
        trip, more when something changed): in series it would delay that reply by as much.
        It runs on a worker with its own capped deadline; the reply waits for it no longer.
        """
        if self._registration is None or not self._registration.due(delivery.organization_uuid):
            return None
        capped = handler_deadline.capped(REGISTRATION_BUDGET_SECONDS)
        check = self._registration
        within = session.within(capped)
        return workers.submit(lambda: _check_registration(check, delivery, within)), capped

    def _handler_for(self, delivery: Delivery) -> Handler | None:
        if delivery.event is not None:
            return self._registry.event_handler(delivery.event.name)
        if delivery.scheduled is not None:
            return self._registry.scheduled_handler(delivery.scheduled.name)
        return self._registry.command_for(delivery.intent or "")

    def _unhandled(self, delivery: Delivery) -> Verdict:
        if delivery.kind is DeliveryKind.COMMAND:
            reply = unknown_command_reply(delivery.subject, self._registry.commands())
            return Verdict.reply(reply, "answered", "unknown_command")
        logger.warning("no handler for this delivery; acknowledged")
        return Verdict.reply(None, "answered", "no_handler")

    def _record_usage(
        self, context: Context, observation: DeliveryObservation, recorded: threading.Event
    ) -> None:
        """Records the invocation in the activity log; a failure never fails the command."""
        try:
            context.activity.record(
                "usage", "triggered", label=context.intent, user_uuid=context.user.uuid
            )
        except DailybotError:
            observation.platform_errors += 1
            logger.warning("could not record the command's usage", exc_info=True)
        except Exception:
            logger.exception("recording the command's usage failed")
        finally:
            recorded.set()

    def _refused(
        self, delivery: Delivery, exc: DailybotError, observation: DeliveryObservation
    ) -> Verdict:
        """Ordinary bad input the platform (or the encoder) refused: said, not a crash."""
        observation.platform_errors += 1
        logger.warning("the platform refused the handler's request: %s", exc)
        if isinstance(exc, ValidationFailed):
            what = f"the platform refused it ({exc.details})."
        else:
            what = "the text holds characters that cannot be sent."
        return Verdict.reply(refused_reply(delivery.subject, what), "answered", "platform_refused")

    def _failed(
        self,
        execution: Execution,
        exc: Exception,
        deadline: Deadline,
        observation: DeliveryObservation,
    ) -> Verdict:
        delivery = execution.delivery
        if isinstance(exc, ValidationFailed | InvalidRequest):
            return self._refused(delivery, exc, observation)
        platform = isinstance(exc, DailybotError)
        if platform:
            observation.platform_errors += 1
        else:
            observation.handler_errors += 1
        logger.exception("the handler failed", exc_info=exc)
        action = "platform_failed" if platform else "handler_failed"
        reply = failure_reply(delivery.subject)
        if isinstance(exc, InvalidDeferral):
            # An author's mistake the user can be told plainly: the work was never queued.
            action, reply = "invalid_deferral", deferral_refused_reply(delivery.subject, str(exc))
        execution.record_failure(
            exc,
            action=action,
            label=delivery.subject,
            metadata={"kind": str(delivery.kind), "error": type(exc).__name__},
            within=self._failure_deadline(deadline),
        )
        return Verdict.reply(reply, "failed", action)

    def _failure_deadline(self, deadline: Deadline) -> Deadline:
        # Best effort, within the margin kept for the reply: the platform may be what failed.
        return deadline.shortened(self._settings.reply_margin_seconds / 2)
