"""`make sync`: reconcile the declared schedules and event hook with Dailybot, in every
organization that uses the command, and print the plan.

    python app.py sync [--dry-run] [--no-verify] [--organization UUID] [--timeout SECONDS]

`app.py`, the composition root, hands `main` the deployment's registry. Reads the settings
from the environment (`DAILYBOT_API_URL`, `DAILYBOT_API_KEY`, `DAILYBOT_OWNER_UUID`,
`DAILYBOT_OWNER_ORGANIZATION`, `DAILYBOT_PUBLIC_URL`, `DAILYBOT_REGISTRY_NAMESPACE`,
`IDEMPOTENCY_STORE`). The organizations are the installations the deployment recorded (every
organization a verified delivery came from) and the owner's; each is reconciled with an
exchange token of its own user, one after the other, and one failing never stops the others.
For each it prints one line per schedule and one for the event hook: created, updated,
deleted or unchanged. Unlike the cold-start reconcile it GETs every registered schedule
(unless `--no-verify`), so it also repairs schedules deleted or edited on Dailybot.
`--dry-run` prints the plan and changes nothing. The declarations are checked when `app.py`
imports the command modules, as everywhere: one the platform would refuse stops `make sync`
(dry run or not) with its handler's name and the fix. One the platform refuses anyway is shown
`refused`, with its handler and the platform's answer, and the others are applied. Exit
status: 0 done, 2 error (missing settings, a platform failure, another reconcile holding the
lock, a declaration refused, in any organization), each said in one line on stderr.

A broken or hostile platform cannot keep it running nor flood the terminal: the whole command
has one deadline (`--timeout`, 60 s), which every platform call and store wait is held to,
and which ends the command even if something not held to it hangs (reading secrets from
AWS, say); the client reads no answer longer than `DAILYBOT_MAX_RESPONSE_BYTES`; and every
line is printed with the characters a terminal would act on escaped (`printable`).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, TextIO

import httpx

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.dailybot.errors import AuthenticationFailed, DailybotError, PermissionDenied
from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.runtime.composition import build_client, open_lock
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.idempotency.lock import ReconcileLock, ReconcileLockUnavailable
from chalicelib.runtime.idempotency.wait import StoreWaitExceeded, waits_until
from chalicelib.runtime.registration.installations import (
    ActingUsers,
    Installations,
    InstallationsUnavailable,
    open_installations,
)
from chalicelib.runtime.registration.plan import HookStep, Outcome, ScheduleStep
from chalicelib.runtime.registration.reconciler import (
    STATE_KEY,
    DeclarationSource,
    Reconciler,
    ReconcileResult,
    ReconcileStatus,
    desired_registration,
    organization_state_key,
)
from chalicelib.runtime.registration.state import StoredStateError
from chalicelib.secrets import resolve_secrets
from chalicelib.settings import Settings, SettingsError
from chalicelib.terminal_text import printable

EXIT_OK: Final = 0
EXIT_ERROR: Final = 2
DEFAULT_TIMEOUT_SECONDS: Final = 60.0
# How long past its deadline the command waits for work that is held to it to end by itself
# (and say why) before it stops waiting and says so itself.
_GRACE_SECONDS: Final = 1.0
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
    deadline = Deadline.after(args.timeout)
    finished = _within_deadline(
        lambda: _run(args, deadline, declarations, env, transport), args.timeout + _GRACE_SECONDS
    )
    status, lines, errors = finished or (EXIT_ERROR, [], [_late(args.timeout, "still waiting")])
    for line in lines:
        print(printable(line), file=out)
    for line in errors:
        print(printable(line), file=err)
    return status


_Outcome = tuple[int, list[str], list[str]]
"""The exit status, the lines for stdout and the lines for stderr."""


def _within_deadline(work: Callable[[], _Outcome], seconds: float) -> _Outcome | None:
    """`work()`'s outcome, or None once `seconds` have passed without one.

    It runs on a daemon thread: whatever it waits on, the command line answers in time and
    the process can exit. Nothing is printed from that thread, so a late finish says nothing.
    """
    done: list[_Outcome] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # handed to the main thread, which raises it
            failed.append(exc)

    worker = threading.Thread(target=run, name="make-sync", daemon=True)
    worker.start()
    worker.join(seconds)
    if failed:
        raise failed[0]
    return done[0] if done else None


def _run(
    args: argparse.Namespace,
    deadline: Deadline,
    declarations: DeclarationSource,
    env: Mapping[str, str] | None,
    transport: httpx.BaseTransport | None,
) -> _Outcome:
    try:
        settings = _settings(env)
        # The installations' and the reconcile lock's store wait no longer than the command.
        with waits_until(deadline.at):
            synced = _sync(
                settings,
                declarations,
                dry_run=args.dry_run,
                verify=not args.no_verify,
                transport=transport,
                only=args.organization,
                deadline=deadline,
            )
    except (SyncError, SettingsError, DailybotError, ValueError) as exc:
        if deadline.expired():
            return EXIT_ERROR, [], [_late(args.timeout, str(exc))]
        return EXIT_ERROR, [], [f"sync: error: {exc}"]
    except InstallationsUnavailable as exc:
        return EXIT_ERROR, [], [f"sync: error: the idempotency store failed ({exc})"]
    lines = report_lines(synced, settings, dry_run=args.dry_run)
    problems = [problem for each in synced for problem in each.problems()]
    if deadline.expired() and problems:
        return EXIT_ERROR, lines, [_late(args.timeout, problems[0])]
    return (EXIT_ERROR if problems else EXIT_OK), lines, [f"sync: error: {p}" for p in problems]


def _late(timeout: float, why: str) -> str:
    return (
        f"sync: error: not finished within its {timeout:g} s deadline (--timeout): {why}."
        " What was applied stays recorded; run it again to finish"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make sync ARGS=...",
        description=(
            "Make Dailybot hold the schedules and event hook the code declares, in every"
            " organization that uses the command."
        ),
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan without changing anything"
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="trust the stored state; do not GET each schedule (the cold-start check)",
    )
    parser.add_argument(
        "--organization",
        metavar="UUID",
        help="reconcile this organization only (one that used the command, or the owner's)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"give up, exit 2, after this long in all (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def _settings(env: Mapping[str, str] | None) -> Settings:
    settings = resolve_secrets(Settings.from_env(env))
    if not settings.api_key:
        raise SyncError("DAILYBOT_API_KEY must be set")
    return settings


@dataclass(frozen=True)
class OrganizationSync:
    """One organization's reconcile: its result, or why it failed."""

    organization_uuid: str
    user_uuid: str | None
    owner: bool
    result: ReconcileResult | None = None
    error: str | None = None

    def problems(self) -> list[str]:
        where = f"organization {self.organization_uuid}"
        if self.error is not None:
            return [f"{where}: {self.error}"]
        assert self.result is not None
        found = [f"{where}: {refusal.describe()}" for refusal in self.result.refused]
        if self.result.status is ReconcileStatus.BUSY:
            found.append(f"{where}: another reconcile is running; try again in a minute")
        return found


def _sync(
    settings: Settings,
    declarations: DeclarationSource,
    *,
    dry_run: bool,
    verify: bool,
    transport: httpx.BaseTransport | None,
    only: str | None = None,
    deadline: Deadline | None = None,
) -> list[OrganizationSync]:
    """Reconciles each organization, each with a token of its own; one failing never stops
    the others."""
    installations = open_installations(
        settings.idempotency_store, dynamodb_endpoint=settings.idempotency_dynamodb_endpoint
    )
    targets = _targets(settings, installations, only=only, record=not dry_run)
    acting = ActingUsers(
        installations,
        owner_uuid=settings.owner_uuid,
        owner_organization=settings.owner_organization,
    )
    lock = None if dry_run else open_lock(settings)
    with build_client(settings, transport=transport) as client:
        broker = ExchangeTokenBroker(
            client, ttl_seconds=settings.token_cache_seconds, on_refusal=acting.refused
        )
        return [
            _sync_one(
                organization,
                acting(organization),
                settings,
                declarations,
                broker=broker,
                client=client,
                lock=lock,
                dry_run=dry_run,
                verify=verify,
                deadline=deadline,
            )
            for organization in targets
        ]


def _targets(
    settings: Settings, installations: Installations, *, only: str | None, record: bool
) -> list[str]:
    """The organizations to reconcile: every recorded installation (or the one named), and the
    owner's, recorded now if no delivery has yet."""
    recorded = [installation.organization_uuid for installation in installations.all()]
    owner = settings.owner_organization
    if owner is not None and owner not in recorded:
        if record and settings.owner_uuid is not None:
            installations.seen(owner, settings.owner_uuid, time.time())
        recorded.append(owner)
    if only is not None:
        if only not in recorded:
            raise SyncError(
                f"organization {only} has not used the command (the recorded ones:"
                f" {', '.join(recorded) or 'none'})"
            )
        return [only]
    if not recorded:
        raise SyncError(
            "no organization has used the command yet: set DAILYBOT_OWNER_ORGANIZATION and"
            " DAILYBOT_OWNER_UUID to register in the owner's organization first"
        )
    return recorded


def _sync_one(
    organization: str,
    user: str | None,
    settings: Settings,
    declarations: DeclarationSource,
    *,
    broker: ExchangeTokenBroker,
    client: DailybotClient,
    lock: ReconcileLock | None,
    dry_run: bool,
    verify: bool,
    deadline: Deadline | None,
) -> OrganizationSync:
    owner = organization == settings.owner_organization
    synced = OrganizationSync(organization, user, owner)
    if user is None:
        return replace(synced, error="no user to act as there (set DAILYBOT_OWNER_UUID)")
    tokens = broker.session(organization, user, delivered=None)
    try:
        # Fetched first, so a key without the scope fails before any plan, and a user who
        # cannot act there (gone, or the command not public there) is said as such.
        tokens.token(deadline)
    except (AuthenticationFailed, PermissionDenied) as exc:
        raise SyncError(
            "the platform refused DAILYBOT_API_KEY (fetching an exchange token needs the"
            f" AUTH_FETCH_EXCHANGE_TOKEN scope): {exc}"
        ) from exc
    except DailybotError as exc:
        return replace(synced, error=f"could not fetch an exchange token for {user}: {exc}")
    try:
        desired = desired_registration(declarations, settings.public_url, owner=owner)
        reconciler = Reconciler(
            namespace=settings.registry_namespace,
            lock=lock,
            state_key=organization_state_key(organization),
            adopts=STATE_KEY if owner else None,
        )
        session = PlatformSession(client, tokens, deadline)
        result = reconciler.reconcile(desired, session, verify=verify, dry_run=dry_run)
    except (DailybotError, StoredStateError) as exc:
        return replace(synced, error=str(exc))
    except ReconcileLockUnavailable as exc:
        if isinstance(exc.__cause__, StoreWaitExceeded):
            return replace(synced, error="the idempotency store kept it waiting")
        return replace(synced, error=f"the idempotency store failed ({exc})")
    return replace(synced, result=result)


def report_lines(
    synced: Sequence[OrganizationSync], settings: Settings, *, dry_run: bool
) -> list[str]:
    """The plan as printed: a header, then per organization one line per schedule and for
    the hook and a summary, then how many organizations were reconciled."""
    lines = [
        f"Self-registration with {settings.api_url} (namespace {settings.registry_namespace!r})",
        f"callback URL: {settings.public_url or _NO_PUBLIC_URL}",
    ]
    if dry_run:
        lines.append("dry run: nothing is changed")
    for each in synced:
        lines += _organization_lines(each)
    failed = sum(1 for each in synced if each.problems())
    lines.append(f"{len(synced)} organization(s): {len(synced) - failed} done, {failed} failed")
    return lines


def _organization_lines(synced: OrganizationSync) -> list[str]:
    owner = ", the owner's" if synced.owner else ""
    lines = [f"organization {synced.organization_uuid} (as {synced.user_uuid or 'nobody'}{owner})"]
    if synced.error is not None:
        return [*lines, f"  error: {synced.error}"]
    result = synced.result
    assert result is not None
    lines += [_schedule_line(step, result) for step in result.plan.schedules]
    if not result.plan.schedules:
        lines.append(_line(Outcome.UNCHANGED, "schedules", "none declared"))
    lines.append(_hook_line(result.plan.hook, result))
    counts = result.plan.counts()
    summary = ", ".join(f"{counts[outcome]} {outcome}" for outcome in Outcome)
    verdict = "plan" if result.status is ReconcileStatus.DRY_RUN else str(result.status)
    if result.refused:
        summary += f"; {len(result.refused)} refused by the platform"
    lines.append(f"  {verdict}: {summary}")
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
