"""One attempt of one job, run at most once per identity: the SQS handler and the local
worker both call `JobRunner.run`.

The attempt claims the job's identity in the idempotency store (its own key prefix) and runs
the function through the same execution path as a delivery's handler, with the delivery's
context (its exchange token is not queued: one is fetched for the delivery's user, or for
the user an event's deliveries act as). The attempt is abandoned at `timeout_seconds`, as the
intake abandons an overrunning handler: its platform calls end with that deadline, and its
late result and deferrals are dropped. Then, in this order: the jobs it deferred are queued
(each runs once, by identity), its result is sent as a follow-up, and the claim is completed.
The platform has no idempotency key for messages, so one window is left: a crash after the
platform took the follow-up and before the claim is completed sends it again when the job
runs again (at least once). A failure releases the claim for the next attempt; the last
attempt (or a deferral the author got wrong) sends one failure message and records an
`error` activity, each with time of its own, and dead-letters the job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import DailybotError
from chalicelib.dailybot.models import JSONValue
from chalicelib.observability import logger
from chalicelib.runtime.context import Messages
from chalicelib.runtime.deferring import InvalidDeferral
from chalicelib.runtime.execution import Execution, HandlerExecutor, JobLabel
from chalicelib.runtime.idempotency.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    LedgerUnavailable,
    Replayed,
)
from chalicelib.runtime.jobs.deferral import DeferralLimits, Deferring, JobCollector
from chalicelib.runtime.jobs.followup import follow_up, job_failure_reply
from chalicelib.runtime.jobs.message import InvalidJobMessage, JobMessage
from chalicelib.runtime.jobs.queue import JobQueue, Outcome, ReceivedJob, RunResult
from chalicelib.runtime.jobs.retry import RetrySchedule
from chalicelib.runtime.registry import CommandRegistry, JobFunction
from chalicelib.runtime.replies import Reply

REPORT_SECONDS: Final = 5.0
"""Time of its own for a given-up job's failure message, and again for its `error` record."""
SETTLE_SECONDS: Final = 5.0
"""Time kept for the queue and the store around an attempt (claim, children, completion)."""


@dataclass(frozen=True)
class JobTimings:
    """How long one attempt may run, and what follows from it.

    The claim's lock outlasts everything one attempt may do (its run, the failure report and
    the queue and store calls around them), so no two attempts of one job overlap; the local
    queue hides a received message for as long, so a crashed worker's job reappears when its
    claim has expired.
    """

    timeout_seconds: float

    @property
    def attempt_seconds(self) -> float:
        """The longest one attempt may take: its run, its two reports, the queue and store
        calls around them (a Lambda job function's timeout must be at least this)."""
        return self.timeout_seconds + 2 * REPORT_SECONDS + SETTLE_SECONDS

    @property
    def claim_seconds(self) -> int:
        return math.ceil(self.attempt_seconds)

    @property
    def visibility_seconds(self) -> float:
        # A little longer than the claim: a crashed attempt's message reappears once its
        # claim has expired, not just before (which would only find it busy).
        return float(self.claim_seconds + 2)


class _AttemptFailed(Exception):
    """The job failed on an attempt that is not its last: the claim is released."""


class JobRunner:
    """Runs jobs of `registry` against the platform, de-duplicated by `ledger`."""

    def __init__(
        self,
        *,
        registry: CommandRegistry,
        executor: HandlerExecutor,
        ledger: DeliveryLedger,
        queue: JobQueue,
        schedule: RetrySchedule,
        timings: JobTimings,
        limits: DeferralLimits | None = None,
    ) -> None:
        self._registry = registry
        self._executor = executor
        self._ledger = ledger
        self._queue = queue
        self._schedule = schedule
        self._timings = timings
        self._limits = limits or DeferralLimits()

    @property
    def schedule(self) -> RetrySchedule:
        return self._schedule

    @property
    def timings(self) -> JobTimings:
        return self._timings

    def run(self, received: ReceivedJob) -> RunResult:
        """One attempt of the job in `received`; never raises."""
        logger.thread_safe_clear_keys()
        try:
            return self._run(received)
        except Exception as exc:
            # Nothing a message holds may stop a worker; the job waits in the dead letters.
            logger.exception("the job could not be run")
            return RunResult(Outcome.DEAD, reason=f"internal_error: {type(exc).__name__}")
        finally:
            logger.thread_safe_clear_keys()

    def run_message(self, message: JobMessage, attempt: int = 1) -> RunResult:
        """`run` for a message in hand (an in-process queue runs its jobs this way)."""
        return self.run(ReceivedJob(message.encode(), attempt, handle=""))

    def _run(self, received: ReceivedJob) -> RunResult:
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
            # Another attempt holds the claim (or died holding it): look again once the claim
            # must have been completed or have expired.
            return RunResult(Outcome.BUSY, self._ledger.lock_seconds, "in_progress")
        except LedgerUnavailable:
            logger.exception("the idempotency store failed")
            return RunResult(Outcome.BUSY, self._schedule.delay_after(1), "store_unavailable")
        except _AttemptFailed:
            return RunResult(Outcome.RETRY, self._schedule.delay_after(received.attempt), "failed")
        if isinstance(outcome, Replayed):
            logger.info("the job already ran; nothing sent")
            return RunResult(Outcome.DUPLICATE)
        return outcome

    def _job_of(self, received: ReceivedJob) -> tuple[JobMessage, JobFunction] | RunResult:
        """The message and its function, or why it cannot run (dead-lettered at once: a
        message that cannot be read never can be; an unknown job is kept for a replay once a
        deploy brings its function back)."""
        try:
            message = JobMessage.decode(received.body)
        except InvalidJobMessage as exc:
            logger.error("a queued job cannot be read: %s", exc)
            return RunResult(Outcome.DEAD, reason=f"invalid_message: {exc}")
        logger.thread_safe_append_keys(
            job=message.job,
            job_id=message.job_id,
            correlation_id=message.delivery.correlation_id,
            attempt=received.attempt,
        )
        function = self._registry.job_named(message.job)
        if function is None:
            logger.error("no job is registered under this name")
            return RunResult(Outcome.DEAD, reason=f"unknown_job: {message.job}")
        return message, function

    def _attempt(
        self, message: JobMessage, function: JobFunction, attempt: int, *, last: bool
    ) -> RunResult:
        deferring = Deferring(
            parent_identity=message.identity,
            delivery=message.delivery,
            depth=message.chain,
            parent_job=message.job,
        )
        collector = JobCollector(self._registry, deferring, self._limits)
        execution = self._executor.start(
            message.delivery,
            Deadline.after(self._timings.timeout_seconds),
            job=JobLabel(message.job, message.identity),
            deferrer=collector,
        )
        arguments = message.arguments
        ended = execution.call(lambda ctx: function(ctx, **arguments))
        failure: Exception | None = ended.error
        if ended.overran:
            failure = execution.overrun_error()
        elif failure is None:
            try:
                # Children first: they are de-duplicated by identity, so queueing them again
                # after a crash costs nothing, while a follow-up cannot be taken back.
                for child in collector.collected():
                    self._queue.send(child)
                if ended.reply is not None:
                    self._send(ended.reply, execution)
            except Exception as exc:
                failure = exc
        if failure is None:
            logger.info("the job ran (attempt %d)", attempt)
            return RunResult(Outcome.DONE)
        logger.warning("the job failed (attempt %d)", attempt, exc_info=failure)
        if not last and not isinstance(failure, InvalidDeferral):
            raise _AttemptFailed from failure
        self._give_up(message, execution, failure, attempt)
        reason = "invalid_deferral" if isinstance(failure, InvalidDeferral) else "failed"
        return RunResult(Outcome.DEAD, reason=f"{reason}: {type(failure).__name__}")

    def _send(self, reply: Reply, execution: Execution, within: Deadline | None = None) -> None:
        outgoing = follow_up(reply, execution.delivery)
        if outgoing is None:
            logger.warning("the job's delivery names no user or channel; no follow-up sent")
            return
        session = execution.session if within is None else execution.session.within(within)
        Messages(session).send(outgoing)

    def _give_up(
        self, message: JobMessage, execution: Execution, error: Exception, attempts: int
    ) -> None:
        logger.error("the job failed on its last attempt; dead-lettered", exc_info=error)
        try:
            reply = job_failure_reply(message.delivery, error)
            self._send(reply, execution, within=Deadline.after(REPORT_SECONDS))
        except DailybotError:
            logger.warning("could not send the job's failure message", exc_info=True)
        metadata: dict[str, JSONValue] = {
            "kind": "job",
            "job": message.job,
            "error": type(error).__name__,
            "attempts": attempts,
        }
        execution.record_failure(
            error,
            action="job_failed",
            label=message.job,
            metadata=metadata,
            within=Deadline.after(REPORT_SECONDS),
        )


def _remembered(result: RunResult) -> dict[str, JSONValue]:
    return {"outcome": str(result.outcome), "reason": result.reason}
