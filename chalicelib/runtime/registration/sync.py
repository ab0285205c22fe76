"""`make sync`: reconcile the declared schedules and event hook with Dailybot, and print the plan.

    python app.py sync [--dry-run] [--no-verify]

`app.py`, the composition root, hands `main` the deployment's registry. Reads the settings
from the environment (`DAILYBOT_API_URL`, `DAILYBOT_API_KEY`, `DAILYBOT_OWNER_UUID`,
`DAILYBOT_PUBLIC_URL`, `DAILYBOT_REGISTRY_NAMESPACE`, `IDEMPOTENCY_STORE`), fetches an
exchange token for the owner, and prints one line per schedule and one for the event hook:
created, updated, deleted or unchanged. Unlike the cold-start reconcile it GETs every
registered schedule (unless `--no-verify`), so it also repairs schedules deleted or edited on
Dailybot. `--dry-run` prints the plan and changes nothing. The declarations are checked when
`app.py` imports the command modules, as everywhere: one the platform would refuse stops
`make sync` (dry run or not) with its handler's name and the fix. One the platform refuses
anyway is shown `refused`, with its handler and the platform's answer, and the others are
applied. Exit status: 0 done, 2 error (missing settings, platform failure, another reconcile
holding the lock, a declaration refused).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

import httpx

from chalicelib.dailybot.errors import AuthenticationFailed, DailybotError, PermissionDenied
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.runtime.composition import build_client, open_lock
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.idempotency.lock import ReconcileLockUnavailable
from chalicelib.runtime.registration.plan import HookStep, Outcome, ScheduleStep
from chalicelib.runtime.registration.reconciler import (
    DeclarationSource,
    Reconciler,
    ReconcileResult,
    ReconcileStatus,
    desired_registration,
)
from chalicelib.runtime.registration.state import StoredStateError
from chalicelib.secrets import resolve_secrets
from chalicelib.settings import Settings, SettingsError

EXIT_OK: Final = 0
EXIT_ERROR: Final = 2
# What a step the platform refused shows instead of its planned outcome.
_REFUSED: Final = "refused"
_WIDTH: Final = max(len(outcome) for outcome in (*Outcome, _REFUSED))
_NO_PUBLIC_URL: Final = "the command's own URL (DAILYBOT_PUBLIC_URL is not set)"


class SyncError(Exception):
    """Something the person running `make sync` must fix; the message says what."""


def main(
    argv: Sequence[str] | None,
    *,
    declarations: DeclarationSource,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Runs the command line; answers the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = _settings(env)
        result = _sync(
            settings,
            declarations,
            dry_run=args.dry_run,
            verify=not args.no_verify,
            transport=transport,
        )
    except (SyncError, SettingsError, DailybotError, StoredStateError, ValueError) as exc:
        print(f"sync: error: {exc}", file=err)
        return EXIT_ERROR
    except ReconcileLockUnavailable as exc:
        print(f"sync: error: the idempotency store failed ({exc})", file=err)
        return EXIT_ERROR
    print("\n".join(report_lines(result, settings, dry_run=args.dry_run)), file=out)
    if result.status is ReconcileStatus.BUSY:
        print("sync: error: another reconcile is running; try again in a minute", file=err)
        return EXIT_ERROR
    for refusal in result.refused:
        print(f"sync: error: {refusal.describe()}", file=err)
    return EXIT_ERROR if result.refused else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make sync ARGS=...",
        description="Make Dailybot hold the schedules and event hook the code declares.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan without changing anything"
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="trust the stored state; do not GET each schedule (the cold-start check)",
    )
    return parser


def _settings(env: Mapping[str, str] | None) -> Settings:
    settings = resolve_secrets(Settings.from_env(env))
    missing = [
        name
        for name, value in (
            ("DAILYBOT_API_KEY", settings.api_key),
            ("DAILYBOT_OWNER_UUID", settings.owner_uuid),
        )
        if not value
    ]
    if missing:
        raise SyncError(f"{' and '.join(missing)} must be set")
    return settings


def _sync(
    settings: Settings,
    declarations: DeclarationSource,
    *,
    dry_run: bool,
    verify: bool,
    transport: httpx.BaseTransport | None,
) -> ReconcileResult:
    desired = desired_registration(declarations, settings.public_url)
    lock = None if dry_run else open_lock(settings)
    with build_client(settings, transport=transport) as client:
        broker = ExchangeTokenBroker(client, ttl_seconds=settings.token_cache_seconds)
        tokens = broker.session(None, settings.owner_uuid, delivered=None)
        try:
            # Fetched first, so a wrong owner or a key without the scope fails before any plan.
            tokens.token()
        except (AuthenticationFailed, PermissionDenied) as exc:
            raise SyncError(
                "the platform refused DAILYBOT_API_KEY (fetching an exchange token needs the"
                f" AUTH_FETCH_EXCHANGE_TOKEN scope): {exc}"
            ) from exc
        except DailybotError as exc:
            raise SyncError(
                f"could not fetch an exchange token for DAILYBOT_OWNER_UUID: {exc}"
            ) from exc
        reconciler = Reconciler(namespace=settings.registry_namespace, lock=lock)
        session = PlatformSession(client, tokens, None)
        return reconciler.reconcile(desired, session, verify=verify, dry_run=dry_run)


def report_lines(result: ReconcileResult, settings: Settings, *, dry_run: bool) -> list[str]:
    """The plan as printed: a header, one line per schedule and for the hook, a summary."""
    lines = [
        f"Self-registration with {settings.api_url} (namespace {settings.registry_namespace!r})",
        f"callback URL: {settings.public_url or _NO_PUBLIC_URL}",
    ]
    if dry_run:
        lines.append("dry run: nothing is changed")
    lines += [_schedule_line(step, result) for step in result.plan.schedules]
    if not result.plan.schedules:
        lines.append(_line(Outcome.UNCHANGED, "schedules", "none declared"))
    lines.append(_hook_line(result.plan.hook, result))
    counts = result.plan.counts()
    summary = ", ".join(f"{counts[outcome]} {outcome}" for outcome in Outcome)
    verdict = "plan" if result.status is ReconcileStatus.DRY_RUN else str(result.status)
    if result.refused:
        summary += f"; {len(result.refused)} refused by the platform"
    lines.append(f"{verdict}: {summary}")
    return lines


def _refused_line(subject: str, result: ReconcileResult) -> str | None:
    for refusal in result.refused:
        if refusal.subject == subject:
            by = ", ".join(refusal.handlers) or "no handler"
            return _line(_REFUSED, subject, f"{by}; {refusal.reason}")
    return None


def _schedule_line(step: ScheduleStep, result: ReconcileResult) -> str:
    refused = _refused_line(f"schedule {step.name}", result)
    if refused:
        return refused
    if step.outcome is Outcome.DELETED:
        uuid = step.uuid
    elif step.outcome is Outcome.CREATED and result.status is not ReconcileStatus.APPLIED:
        uuid = None  # not created yet
    else:
        uuid = result.uuids.get(step.name, step.uuid)
    details = [f"uuid {uuid}"] if uuid else []
    if step.reason:
        details.append(step.reason)
    return _line(step.outcome, f"schedule {step.name}", "; ".join(details))


def _hook_line(step: HookStep | None, result: ReconcileResult) -> str:
    if step is None:
        return _line(Outcome.UNCHANGED, "event hook", "no events declared")
    if step.subscription is not None:
        what = f"event hook {step.subscription.describe()}"
    elif step.registered is not None:
        what = f"event hook {', '.join(step.registered.events)}"
    else:
        what = "event hook"
    refused = _refused_line(what, result)
    if refused:
        return refused
    details = []
    if result.hook_uuid and step.outcome is not Outcome.DELETED:
        details.append(f"hook {result.hook_uuid}")
    if step.reason:
        details.append(step.reason)
    return _line(step.outcome, what, "; ".join(details))


def _line(outcome: str, subject: str, details: str) -> str:
    text = f"  {outcome:<{_WIDTH}}  {subject}"
    return f"{text}  ({details})" if details else text
