"""Builds the runtime once per container from the settings and the registry it is given.

Built lazily, on the first delivery, so the environment a test or `chalice local` sets up
before that delivery is the one used, and a health check never pays for it. The registry
comes from the composition root (`app.py`): nothing here knows which commands exist.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from chalicelib.dailybot.client import CallWrapper, DailybotClient
from chalicelib.dailybot.retry import RetryPolicy
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.observability import logger, platform_call_tracer, protect_root_logging, redactor
from chalicelib.runtime.execution import FailureObserver, HandlerExecutor
from chalicelib.runtime.idempotency.ledger import JOB_KEY_PREFIX, DeliveryLedger, open_store
from chalicelib.runtime.idempotency.lock import IdempotencyStoreLock
from chalicelib.runtime.intake.http import IncomingRequest, OutgoingResponse
from chalicelib.runtime.intake.pipeline import Intake, RegistrationCheck
from chalicelib.runtime.jobs.deferral import DeferralLimits
from chalicelib.runtime.jobs.queue import JobQueue, Outcome, ReceivedJob, open_queue
from chalicelib.runtime.jobs.retry import RetrySchedule
from chalicelib.runtime.jobs.runner import JobRunner, JobTimings
from chalicelib.runtime.jobs.sqs_queue import received_from
from chalicelib.runtime.registration.cold_start import OrganizationReconciler
from chalicelib.runtime.registration.installations import ActingUsers, open_installations
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.secrets import CurrentSignatures, resolve_secrets
from chalicelib.settings import Settings, SettingsError

__all__ = ["LazyRuntime", "Runtime", "build_client", "build_runtime", "open_lock"]


@dataclass(frozen=True)
class Runtime:
    """The per-container objects a delivery needs, and what `close()` releases."""

    client: DailybotClient
    ledger: DeliveryLedger
    intake: Intake
    jobs: JobQueue
    job_runner: JobRunner

    def close(self) -> None:
        self.client.close()


def build_client(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    on_call: CallWrapper | None = None,
) -> DailybotClient:
    """The platform client the settings describe (URL, key, timeouts, Retry-After cap)."""
    if settings.api_key is None:
        raise SettingsError("DAILYBOT_API_KEY (or its parameter) is not set")
    connect = settings.http_connect_timeout_seconds
    read = settings.http_read_timeout_seconds
    return DailybotClient(
        base_url=settings.api_url,
        api_key=settings.api_key,
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        transport=transport,
        retry_policy=RetryPolicy(max_retry_after_seconds=settings.max_retry_after_seconds),
        on_call=on_call,
        max_response_bytes=settings.max_response_bytes,
    )


def open_lock(settings: Settings) -> IdempotencyStoreLock:
    """The reconcile lock, on a layer of its own over the store `IDEMPOTENCY_STORE` names,
    opened when the lock is first taken."""
    return IdempotencyStoreLock(
        lambda: open_store(
            settings.idempotency_store, dynamodb_endpoint=settings.idempotency_dynamodb_endpoint
        )
    )


def build_runtime(
    registry: CommandRegistry,
    settings: Settings | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    registration: RegistrationCheck | Literal["cold-start"] | None = "cold-start",
    queue: JobQueue | None = None,
    wall_clock: Callable[[], float] = time.time,
    on_failure: FailureObserver | None = None,
) -> Runtime:
    """The runtime for `registry` and `settings` (from the environment by default).

    `registration` is the self-registration check each new delivery runs: the cold-start
    reconcile by default; None for none (tests give their own). `queue` is where deferred
    jobs go: the one `JOBS_QUEUE` names by default. `wall_clock` is what a delivery's
    timestamp is checked against (a test platform's virtual clock in the test kit).
    `on_failure` hears of every handler that raised or overran (the test kit fails the test).
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
    store = open_store(
        settings.idempotency_store, dynamodb_endpoint=settings.idempotency_dynamodb_endpoint
    )
    ledger = DeliveryLedger(
        store,
        lock_seconds=settings.idempotency_lock_seconds,
        window_seconds=settings.idempotency_window_seconds,
    )
    client = build_client(settings, transport=transport, on_call=platform_call_tracer())
    installations = open_installations(
        settings.idempotency_store, dynamodb_endpoint=settings.idempotency_dynamodb_endpoint
    )
    reconciler = OrganizationReconciler(
        settings, registry, open_lock(settings), installations=installations, wall_clock=wall_clock
    )
    if registration == "cold-start":
        registration = reconciler
    # A token refusal marks the organization, and makes it due again here: its next delivery
    # from a live user repairs the installation.
    acting = ActingUsers(
        installations,
        owner_uuid=settings.owner_uuid,
        owner_organization=settings.owner_organization,
        on_mark=reconciler.forget,
    )
    # A delivered token is remembered by the intake; one fetched for a delivery without a
    # token is only known here.
    broker = ExchangeTokenBroker(
        client,
        ttl_seconds=settings.token_cache_seconds,
        max_entries=settings.token_cache_size,
        on_fetch=redactor.remember,
        on_refusal=acting.refused,
    )
    jobs = queue if queue is not None else open_queue(settings.jobs_queue)
    executor = HandlerExecutor(
        client=client,
        broker=broker,
        storage_namespace=settings.storage_namespace,
        user_namespace=settings.registry_namespace,
        # An event's delivery names no user and its token is not queued: its jobs act as the
        # user the organization's installation records.
        acting_user=acting,
        on_failure=on_failure,
    )
    limits = DeferralLimits(settings.jobs_max_chain, settings.jobs_max_fanout)
    intake = Intake(
        settings=settings,
        executor=executor,
        ledger=ledger,
        registry=registry,
        registration=registration,
        jobs=jobs,
        deferral_limits=limits,
        accepted_signatures=signatures,
        wall_clock=wall_clock,
    )
    timings = JobTimings(settings.jobs_timeout_seconds)
    runner = JobRunner(
        registry=registry,
        executor=executor,
        # The same store, its own prefix; a claim outlasts everything one attempt may do.
        ledger=DeliveryLedger(
            store,
            lock_seconds=timings.claim_seconds,
            window_seconds=settings.idempotency_window_seconds,
            key_prefix=JOB_KEY_PREFIX,
        ),
        queue=jobs,
        schedule=RetrySchedule(settings.jobs_attempts, settings.jobs_backoff_seconds),
        timings=timings,
        limits=limits,
    )
    return Runtime(client, ledger, intake, jobs, runner)


def _batch_failures(failed: Iterable[ReceivedJob]) -> dict[str, list[dict[str, str]]]:
    """The partial batch response Lambda reads (`ReportBatchItemFailures`)."""
    return {"batchItemFailures": [{"itemIdentifier": job.queue_id} for job in failed]}


class LazyRuntime:
    """The container's runtime for `registry`, built on first use (thread safe) and
    replaceable in tests."""

    def __init__(self, registry: CommandRegistry) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._serving: ContextVar[Runtime | None] = ContextVar("serving_runtime", default=None)

    @contextmanager
    def serving(self, runtime: Runtime) -> Iterator[None]:
        """Deliveries answered in this block (in this thread) reach `runtime` instead of the
        container's own: each test kit open in a process serves its own deliveries so."""
        token = self._serving.set(runtime)
        try:
            yield
        finally:
            self._serving.reset(token)

    def get(self) -> Runtime:
        serving = self._serving.get()
        if serving is not None:
            return serving
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = build_runtime(self._registry)
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

    def run_jobs(self, records: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
        """Runs the jobs of one SQS event (Lambda's records); answers the partial batch
        response naming the messages SQS must deliver again. Never raises: a record that
        cannot be run or settled is reported failed, the others are settled."""
        received = [received_from(dict(record)) for record in records]
        try:
            runtime = self.get()
        except Exception:
            # A container that cannot start (a setting, a parameter) runs nothing; SQS
            # delivers the batch again, and it runs once the deployment is fixed.
            logger.exception("the runtime cannot start; the jobs will be delivered again")
            return _batch_failures(received)
        failed = []
        for job in received:
            result = runtime.job_runner.run(job)
            try:
                # The event source mapping deletes what the batch does not report failed.
                runtime.jobs.settle(job, result, delete=False)
            except Exception:
                logger.exception("a job's message could not be settled; it runs again")
                failed.append(job)
                continue
            if result.outcome in (Outcome.RETRY, Outcome.BUSY):
                failed.append(job)
        return _batch_failures(failed)

    def reset(self, runtime: Runtime | None = None) -> None:
        """Drops the built runtime (closing it), or installs `runtime` instead."""
        with self._lock:
            if self._runtime is not None and self._runtime is not runtime:
                self._runtime.close()
            self._runtime = runtime
