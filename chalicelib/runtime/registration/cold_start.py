"""The self-registration check the intake runs beside the handler of a verified delivery.

A delivery proves the deployment is live in its organization and carries a token that acts
there, so it is the moment to record the organization as an installation and make sure the
platform holds, in that organization, the declared schedules and event hook. A public
command serves many organizations: each is reconciled with a token of its own, its state
kept under its own key, once per organization per period (not once per container), and one
organization failing never stops the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.observability import logger, metrics
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.idempotency.lock import ReconcileLock
from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.intake.worker import workers
from chalicelib.runtime.registration.installations import Installations
from chalicelib.runtime.registration.reconciler import (
    STATE_KEY,
    DeclarationSource,
    Reconciler,
    desired_registration,
    organization_state_key,
)
from chalicelib.settings import Settings

ERROR_METRIC: Final = "ReconcileErrors"
# After a failed reconcile, deliveries from that organization within this many seconds do not
# try again: while the platform is down each try would spend part of a user's reply budget.
RETRY_AFTER_FAILURE_SECONDS: Final = 60.0


def count_reconcile_error() -> None:
    """Adds one to the `ReconcileErrors` metric, flushed with the delivery's metrics."""
    metrics.add_metric(name=ERROR_METRIC, unit=MetricUnit.Count, value=1)


@dataclass
class _Organization:
    """What this container knows of one organization's registration."""

    next_due: float | None = None
    # The first reconcile trusts the stored fingerprints (one read); later ones, once a period,
    # also GET each schedule, so one deleted on Dailybot comes back without `make sync`.
    settled: bool = False
    running: threading.Lock = field(default_factory=threading.Lock)


class OrganizationReconciler:
    """Records and reconciles each organization on its first verified delivery to this
    container, then once per period.

    At most once per `settings.reconcile_period_seconds` per organization and container, with
    the delivery's platform session (its token acts in its organization; a few seconds of its
    deadline). The first run costs one storage read when nothing changed; later ones also
    check each declared schedule and repair what was lost. A declaration the platform refuses
    fails alone; it is counted and tried again a period later. Any other failure is logged and
    counted, never raised (the delivery goes on), and tried again after
    `retry_after_failure_seconds`, for that organization alone. Losing the lock to another
    container is not done either: the next delivery from there looks again.
    """

    def __init__(
        self,
        settings: Settings,
        registry: DeclarationSource,
        lock: ReconcileLock | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        installations: Installations | None = None,
        wall_clock: Callable[[], float] = time.time,
        count_error: Callable[[], None] = count_reconcile_error,
        retry_after_failure_seconds: float = RETRY_AFTER_FAILURE_SECONDS,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._lock = lock
        self._installations = installations
        self._clock = clock
        self._wall_clock = wall_clock
        self._count_error = count_error
        self._retry_after_failure = retry_after_failure_seconds
        self._organizations: dict[str, _Organization] = {}
        self._known = threading.Lock()

    def __repr__(self) -> str:
        return f"OrganizationReconciler(namespace={self._settings.registry_namespace!r})"

    def due(self, organization_uuid: str) -> bool:
        """Whether the organization is due: on its first delivery to this container, then once
        a period (or a while after a failure). Asked on every delivery, so cheap."""
        known = self._organizations.get(organization_uuid)
        return known is None or known.next_due is None or self._clock() >= known.next_due

    def forget(self, organization_uuid: str) -> None:
        """Makes the organization due again (a token refusal changed what is known of it)."""
        with self._known:
            self._organizations.pop(organization_uuid, None)

    def check(self, delivery: Delivery, session: PlatformSession) -> None:
        """Records and reconciles the delivery's organization when due; never raises."""
        organization_uuid = delivery.organization_uuid
        if not self.due(organization_uuid):
            return
        with self._known:
            known = self._organizations.setdefault(organization_uuid, _Organization())
        # One reconcile per organization and container at a time; other deliveries go on.
        if not known.running.acquire(blocking=False):
            return
        try:
            # Beside the reconcile, not before it: the reply may wait for this check, and the
            # two share nothing (the store's write and the platform's read overlap).
            recorded = workers.submit(lambda: self._record(delivery))
            self._reconcile(organization_uuid, known, session)
            recorded.result()
        finally:
            known.running.release()

    def _record(self, delivery: Delivery) -> None:
        if self._installations is None:
            return
        try:
            self._installations.seen(
                delivery.organization_uuid, delivery.user_uuid, self._wall_clock()
            )
        except Exception:
            logger.warning("could not record the organization's installation", exc_info=True)

    def _reconcile(
        self, organization_uuid: str, known: _Organization, session: PlatformSession
    ) -> None:
        owner = organization_uuid == self._settings.owner_organization
        reconciler = Reconciler(
            namespace=self._settings.registry_namespace,
            lock=self._lock,
            state_key=organization_state_key(organization_uuid),
            adopts=STATE_KEY if owner else None,
        )
        try:
            # Read per run, not at construction: command modules may register after wiring.
            desired = desired_registration(self._registry, self._settings.public_url, owner=owner)
            result = reconciler.reconcile(desired, session, verify=known.settled)
        except Exception:
            logger.exception(
                "self-registration failed; it will be tried again",
                extra={"organization_uuid": organization_uuid},
            )
            self._count_error()
            known.next_due = self._clock() + self._retry_after_failure
            return
        for _ in result.refused:
            self._count_error()
        # A refused declaration is the author's to fix (the log and the activity log name
        # it): trying it again on every delivery would only spend their reply budgets.
        if result.done or result.refused:
            known.next_due = self._clock() + self._settings.reconcile_period_seconds
            known.settled = True
        if result.plan.writes and result.done:
            counts = {str(o): n for o, n in result.plan.counts().items() if n}
            logger.info(
                "self-registration applied",
                extra={"steps": counts, "organization_uuid": organization_uuid},
            )
