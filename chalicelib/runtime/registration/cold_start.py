"""The self-registration check the intake runs for verified deliveries of a container.

A delivery proves the deployment is live and carries a token, so it is the moment to make
sure the platform holds the declared schedules and event hook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.observability import logger, metrics
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.idempotency.lock import ReconcileLock
from chalicelib.runtime.registration.reconciler import (
    DeclarationSource,
    Reconciler,
    desired_registration,
)
from chalicelib.settings import Settings

ERROR_METRIC: Final = "ReconcileErrors"
# After a failed cold-start reconcile, deliveries within this many seconds do not try again:
# while the platform is down each try would spend part of a user's reply budget.
RETRY_AFTER_FAILURE_SECONDS: Final = 60.0


def count_reconcile_error() -> None:
    """Adds one to the `ReconcileErrors` metric, flushed with the delivery's metrics."""
    metrics.add_metric(name=ERROR_METRIC, unit=MetricUnit.Count, value=1)


class ColdStartReconciler:
    """Reconciles on a container's first verified delivery, then once per period.

    At most once per `settings.reconcile_period_seconds` per container, with the delivery's
    platform session (its token, a few seconds of its deadline). The first run costs one
    storage read when nothing changed; later ones also check each declared schedule on the
    platform and repair what was lost. A declaration the platform refuses fails alone (the
    reconciler logs it and records it in the activity log); it is counted and tried again a
    period later. Any other failure is logged and counted, never raised (the delivery goes
    on), and not recorded as done: a delivery after
    `retry_after_failure_seconds` tries again. Losing the lock to another container is not
    done either; the next delivery looks again, which costs one read once the other container
    has finished.
    """

    def __init__(
        self,
        settings: Settings,
        registry: DeclarationSource,
        lock: ReconcileLock | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        count_error: Callable[[], None] = count_reconcile_error,
        retry_after_failure_seconds: float = RETRY_AFTER_FAILURE_SECONDS,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._reconciler = Reconciler(namespace=settings.registry_namespace, lock=lock)
        self._clock = clock
        self._count_error = count_error
        self._retry_after_failure = retry_after_failure_seconds
        self._next_due: float | None = None
        # The first reconcile of a container trusts the stored fingerprints (one read); later
        # ones, once a period, also GET each schedule, so one deleted on Dailybot comes back
        # without anyone running `make sync`.
        self._settled = False
        self._running = threading.Lock()

    def __repr__(self) -> str:
        return f"ColdStartReconciler(namespace={self._settings.registry_namespace!r})"

    def due(self) -> bool:
        """Whether a reconcile is due: on a container's first delivery, then once a period
        (or a while after a failure)."""
        return self._next_due is None or self._clock() >= self._next_due

    def check(self, organization_uuid: str | None, session: PlatformSession) -> None:
        """Reconciles when due; never raises."""
        if not self.due():
            return
        # One reconcile per container at a time; concurrent deliveries just go on.
        if not self._running.acquire(blocking=False):
            return
        try:
            self._reconcile(organization_uuid, session)
        finally:
            self._running.release()

    def _reconcile(self, organization_uuid: str | None, session: PlatformSession) -> None:
        try:
            # Read per run, not at construction: command modules may register after wiring.
            desired = desired_registration(self._registry, self._settings.public_url)
            result = self._reconciler.reconcile(desired, session, verify=self._settled)
        except Exception:
            logger.exception(
                "self-registration failed; it will be tried again",
                extra={"organization_uuid": organization_uuid},
            )
            self._count_error()
            self._next_due = self._clock() + self._retry_after_failure
            return
        for _ in result.refused:
            self._count_error()
        # A refused declaration is the author's to fix (the log and the activity log name
        # it): trying it again on every delivery would only spend their reply budgets.
        if result.done or result.refused:
            self._next_due = self._clock() + self._settings.reconcile_period_seconds
            self._settled = True
        if result.plan.writes and result.done:
            counts = {str(o): n for o, n in result.plan.counts().items() if n}
            logger.info("self-registration applied", extra={"steps": counts})
