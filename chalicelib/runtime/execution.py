"""Running a handler: the one path that deliveries and their jobs share.

An `Execution` binds what one run needs: a platform session (the delivery's exchange token,
or one fetched for the user the run acts as; the run's deadline; labels naming the delivery
and the job), the handler's `Context`, and the place its deferred jobs go. `call` runs the
handler on a worker thread and waits for it no longer than the deadline, so an overrunning
handler is abandoned, never waited for; `record_failure` tells the failure observer (the test
kit) and records an `error` activity by a deadline the caller chooses.

The intake and the job runner decide what an ending means for them (a reply, a retry, a
follow-up); how a handler is run is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chalicelib.dailybot.call_options import CallLabels
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import DailybotError
from chalicelib.dailybot.models import JSONValue
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.observability import logger
from chalicelib.runtime.context import Activity, Context, PlatformSession
from chalicelib.runtime.deferring import Deferrer
from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.intake.worker import Overrun, wait_within, workers
from chalicelib.runtime.replies import Reply, as_reply


@dataclass(frozen=True)
class JobLabel:
    """The job a run is for: its registered name and its identity."""

    name: str
    identity: str


@dataclass(frozen=True)
class HandlerFailure:
    """A handler that raised or overran, as the failure observer is told of it."""

    subject: str
    job: str | None
    error: BaseException


FailureObserver = Callable[[HandlerFailure], None]


@dataclass(frozen=True)
class Ended:
    """How a handler's run ended: with its reply (None: nothing to say), an error, or not in
    time (`overran`)."""

    reply: Reply | None = None
    error: Exception | None = None
    overran: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.overran


class HandlerExecutor:
    """Builds the executions of one container: its client, token broker and settings."""

    def __init__(
        self,
        *,
        client: DailybotClient,
        broker: ExchangeTokenBroker,
        storage_namespace: str | None = None,
        user_namespace: str = "dailybot-runtime",
        acting_user: Callable[[str], str | None] = lambda organization: None,
        on_failure: FailureObserver | None = None,
    ) -> None:
        """`acting_user(organization)` is the user a run acts as when its delivery names
        none (an event's job): the event's own token is never queued, so a job fetches one."""
        self._client = client
        self._broker = broker
        self._storage_namespace = storage_namespace
        self._user_namespace = user_namespace
        self._acting_user = acting_user
        self._on_failure = on_failure

    def start(
        self,
        delivery: Delivery,
        deadline: Deadline,
        *,
        job: JobLabel | None = None,
        deferrer: Deferrer | None = None,
        before_activity_read: Callable[[], object] | None = None,
    ) -> Execution:
        user = delivery.user_uuid
        if user is None and delivery.exchange_token is None:
            user = self._acting_user(delivery.organization_uuid)
        tokens = self._broker.session(
            delivery.organization_uuid, user, delivered=delivery.exchange_token
        )
        labels = CallLabels(
            correlation_id=delivery.correlation_id,
            job=None if job is None else job.name,
            job_id=None if job is None else job.identity[: len(delivery.correlation_id)],
        )
        session = PlatformSession(self._client, tokens, deadline, labels)
        context = Context(
            delivery,
            session,
            storage_namespace=self._storage_namespace,
            user_namespace=self._user_namespace,
            deferrer=deferrer,
            before_activity_read=before_activity_read,
            job=None if job is None else job.name,
        )
        return Execution(self, delivery, deadline, session=session, context=context, job=job)

    def failed(self, failure: HandlerFailure) -> None:
        if self._on_failure is not None:
            self._on_failure(failure)


class Execution:
    """One run of a handler for a delivery, or for one of its jobs."""

    def __init__(
        self,
        executor: HandlerExecutor,
        delivery: Delivery,
        deadline: Deadline,
        *,
        session: PlatformSession,
        context: Context,
        job: JobLabel | None,
    ) -> None:
        self._executor = executor
        self.delivery = delivery
        self.deadline = deadline
        self.session = session
        self.context = context
        self.job = job

    def call(
        self, handler: Callable[[Context], object], *, beside: Callable[[], object] | None = None
    ) -> Ended:
        """Runs `handler(context)` on a worker within the deadline; `beside` runs in this
        thread meanwhile (the intake's usage record). Never raises."""
        context = self.context
        running = workers.submit(lambda: as_reply(handler(context)))
        if beside is not None:
            beside()
        try:
            return Ended(reply=wait_within(running, self.deadline.remaining()))
        except Overrun:
            return Ended(overran=True)
        except Exception as exc:
            return Ended(error=exc)

    def record_failure(
        self,
        error: BaseException,
        *,
        action: str,
        label: str,
        metadata: Mapping[str, JSONValue],
        within: Deadline,
    ) -> None:
        """Tells the failure observer and writes the `error` activity record, best effort
        (the platform may be what failed) and by `within`: the intake keeps it inside the
        reply's budget, a job gives it time of its own since the run's may be spent."""
        self._executor.failed(
            HandlerFailure(
                self.delivery.subject, None if self.job is None else self.job.name, error
            )
        )
        activity = Activity(self.session.within(within))
        try:
            activity.record(
                "error",
                action,
                label=label,
                metadata=dict(metadata),
                user_uuid=self.delivery.user_uuid,
            )
        except DailybotError:
            logger.warning("could not record the failure in the activity log", exc_info=True)

    def overrun_error(self) -> TimeoutError:
        """The error an overrun is recorded as."""
        what = self.delivery.subject if self.job is None else f"job {self.job.name!r}"
        return TimeoutError(f"{what} did not finish within its time")
