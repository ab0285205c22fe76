"""One attempt of one job, run at most once per identity: the SQS handler and the local
worker both call `JobRunner.run`.

The attempt claims the job's identity in the idempotency store (its own key prefix), builds
the job's `Context` (same organization, user and text as the delivery; an exchange token the
broker fetches now, since the delivery's may have expired), runs the function, sends its
result as a follow-up, queues the jobs it deferred, and only then completes the claim. A
queue that delivers twice, or a worker that dies after the follow-up was recorded, finds the
claim done and sends nothing more. A failure leaves the claim open for the next attempt;
the last attempt sends one failure message, records an `error` activity and dead-letters it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import DailybotError
from chalicelib.dailybot.models import JSONValue
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.observability import logger
from chalicelib.runtime.context import Activity, Context, Messages, PlatformSession
from chalicelib.runtime.idempotency.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    LedgerUnavailable,
    Replayed,
)
from chalicelib.runtime.intake.delivery import Delivery, DeliveryKind
from chalicelib.runtime.jobs.deferral import JobCollector
from chalicelib.runtime.jobs.followup import follow_up, job_failure_reply
from chalicelib.runtime.jobs.message import InvalidJobMessage, JobMessage
from chalicelib.runtime.jobs.queue import JobQueue, JobSource, ReceivedJob
from chalicelib.runtime.jobs.retry import RetrySchedule
from chalicelib.runtime.registry import CommandRegistry, JobFunction
from chalicelib.runtime.replies import Reply, as_reply


class Outcome(StrEnum):
    DONE = "done"  # ran, follow-up sent
    DUPLICATE = "duplicate"  # already ran (or already gave up): nothing sent
    RETRY = "retry"  # failed; runs again after `delay_seconds`
    BUSY = "busy"  # another attempt holds the claim; try after it may have expired
    DEAD = "dead"  # gave up (or cannot run): into the dead-letter queue


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    delay_seconds: float = 0.0
    reason: str = ""

    def settle(self, source: JobSource, received: ReceivedJob) -> None:
        """Does with the received message what this result says."""
        if self.outcome in (Outcome.DONE, Outcome.DUPLICATE):
            source.delete(received)
        elif self.outcome is Outcome.DEAD:
            source.dead_letter(received, self.reason)
        else:
            counted = self.outcome is Outcome.RETRY
            source.release(received, self.delay_seconds, counted=counted)


class _AttemptFailed(Exception):
    """The job raised on an attempt that is not its last: the claim is released."""


class JobRunner:
    """Runs jobs of `registry` against the platform, de-duplicated by `ledger`."""

    def __init__(
        self,
        *,
        registry: CommandRegistry,
        client: DailybotClient,
        broker: ExchangeTokenBroker,
        ledger: DeliveryLedger,
        queue: JobQueue,
        schedule: RetrySchedule,
        timeout_seconds: float,
        storage_namespace: str | None = None,
        user_namespace: str = "dailybot-runtime",
    ) -> None:
        self._registry = registry
        self._client = client
        self._broker = broker
        self._ledger = ledger
        self._queue = queue
        self._schedule = schedule
        self._timeout = timeout_seconds
        self._storage_namespace = storage_namespace
        self._user_namespace = user_namespace

    @property
    def schedule(self) -> RetrySchedule:
        return self._schedule

    def run(self, received: ReceivedJob) -> RunResult:
        """One attempt of the job in `received`; never raises."""
        found = self._job_of(received)
        if isinstance(found, RunResult):
            return found
        message, function = found
        last = self._schedule.is_last(received.attempt)
        try:
            outcome = self._ledger.run_once(
                message.run_key,
                lambda: self._attempt(message, function, received.attempt, last=last),
                remember=_remembered,
            )
        except DeliveryInProgress:
            # Another attempt holds the claim (or died holding it): look again a few times
            # before the claim's lock can have expired.
            return RunResult(Outcome.BUSY, self._ledger.lock_seconds / 4, "in_progress")
        except LedgerUnavailable:
            logger.exception("the idempotency store failed")
            return RunResult(Outcome.BUSY, self._schedule.delay_after(1), "store_unavailable")
        except _AttemptFailed:
            return RunResult(Outcome.RETRY, self._schedule.delay_after(received.attempt), "failed")
        if isinstance(outcome, Replayed):
            logger.info("the job already ran; nothing sent")
            return RunResult(Outcome.DUPLICATE)
        return outcome

    def run_message(self, message: JobMessage, attempt: int = 1) -> RunResult:
        """`run` for a message in hand (an in-process queue runs its jobs this way)."""
        return self.run(ReceivedJob(message.encode(), attempt, handle=""))

    def _job_of(self, received: ReceivedJob) -> tuple[JobMessage, JobFunction] | RunResult:
        """The message and its function, or why it cannot run (dead-lettered, kept for a
        replay once a deploy brings the function back)."""
        try:
            message = JobMessage.decode(received.body)
        except InvalidJobMessage as exc:
            logger.error("a queued job cannot be read: %s", exc)
            return RunResult(Outcome.DEAD, reason="invalid_message")
        logger.append_keys(job=message.job, job_id=message.identity[:16])
        function = self._registry.job_named(message.job)
        if function is None:
            logger.error("no job is registered under this name")
            return RunResult(Outcome.DEAD, reason="unknown_job")
        return message, function

    def _attempt(
        self, message: JobMessage, function: JobFunction, attempt: int, *, last: bool
    ) -> RunResult:
        origin = message.origin
        deadline = Deadline.after(self._timeout)
        tokens = self._broker.session(origin.organization_uuid, origin.user_uuid, delivered=None)
        session = PlatformSession(self._client, tokens, deadline)
        collector = JobCollector(self._registry, message.identity, origin)
        context = Context(
            _delivery_of(message),
            session,
            storage_namespace=self._storage_namespace,
            user_namespace=self._user_namespace,
            jobs=collector,
        )
        try:
            reply = as_reply(function(context, **message.arguments))
            if reply is not None:
                self._send(reply, message, session)
        except Exception as exc:
            logger.warning("the job failed (attempt %d)", attempt, exc_info=True)
            if not last:
                raise _AttemptFailed from exc
            self._give_up(message, session, exc, attempt)
            return RunResult(Outcome.DEAD, reason=type(exc).__name__)
        for deferred in collector.collected():
            self._queue.send(deferred)
        logger.info("the job ran (attempt %d)", attempt)
        return RunResult(Outcome.DONE)

    def _send(self, reply: Reply, message: JobMessage, session: PlatformSession) -> None:
        outgoing = follow_up(reply, message.origin)
        if outgoing is None:
            logger.warning("the job's delivery names no user or channel; no follow-up sent")
            return
        if message.origin.user_uuid:
            Messages(session).send(outgoing)
        else:  # an event's job: the API key alone, to the channel
            session.with_key(session.client.send_message, outgoing)

    def _give_up(
        self, message: JobMessage, session: PlatformSession, exc: Exception, attempts: int
    ) -> None:
        logger.error("the job failed on its last attempt; dead-lettered", exc_info=exc)
        metadata: dict[str, JSONValue] = {
            "kind": "job",
            "job": message.job,
            "error": type(exc).__name__,
            "attempts": attempts,
        }
        # Each best effort: the platform may be what failed.
        try:
            self._send(job_failure_reply(message.origin), message, session)
        except DailybotError:
            logger.warning("could not send the job's failure message", exc_info=True)
        try:
            Activity(session).record(
                "error",
                "job_failed",
                label=message.job,
                metadata=metadata,
                user_uuid=message.origin.user_uuid,
            )
        except DailybotError:
            logger.warning("could not record the job's failure in the activity log", exc_info=True)


def _remembered(result: RunResult) -> dict[str, JSONValue]:
    return {"outcome": str(result.outcome), "reason": result.reason}


def _delivery_of(message: JobMessage) -> Delivery:
    origin = message.origin
    return Delivery(
        kind=DeliveryKind(origin.kind),
        identity=message.identity,
        sent_at=origin.sent_at,
        organization_uuid=origin.organization_uuid,
        user_uuid=origin.user_uuid,
        user_full_name=origin.user_full_name,
        intent=origin.intent,
        text=origin.text,
        target_channel=origin.target_channel,
    )
