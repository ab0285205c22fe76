"""`Dailybot`: the real runtime and the real emulator in one process, driven like Dailybot.

`open_dailybot()` builds, for one test, a fresh emulator (in-memory database, virtual clock)
whose deliveries go to the deployment's Chalice app, and the deployment's runtime whose
platform calls go to that emulator, and whose deferred jobs run right after each action
(`testkit.jobs`); it registers the declared schedules and event hook as `make sync` does,
then hands out the `Dailybot` a test drives.
"""

from __future__ import annotations

import io
import itertools
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import httpx

from chalicelib.dailybot.models import SCHEDULE_FIELDS, ActivityRecord
from chalicelib.observability import redactor
from chalicelib.redaction import Secret, redact_text
from chalicelib.runtime import Button
from chalicelib.runtime.composition import Runtime, build_runtime
from chalicelib.runtime.context import user_storage_namespace
from chalicelib.runtime.execution import HandlerFailure
from chalicelib.runtime.registration import sync
from chalicelib.settings import Settings
from emulator.api.activity import command_activity
from emulator.api.storage import command_scope, namespace_scope, scope_values
from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.schedules import command_schedules
from emulator.state import EmulatorState, build_state
from testkit.deployment import Deployment
from testkit.jobs import InlineJobs
from testkit.records import (
    Delivery,
    PlatformCall,
    Reply,
    Schedule,
    SentMessage,
    instant,
    summaries,
)
from testkit.wire import CommandWire, PlatformWire, Traffic, WireDelivery, run_to_completion
from testkit.world import KitError, KitWorld, User

PLATFORM_URL: Final = "http://platform.testkit"
SHOWN_ON_FAILURE: Final = 8


class Dailybot:
    """The platform as a command's test sees it: invoke, click, fire events, move time, look.

    Every method goes through the emulator's real API (control or platform) or reads what
    the emulator holds; nothing of the runtime is mocked.
    """

    def __init__(
        self,
        world: KitWorld,
        state: EmulatorState,
        control: httpx.Client,
        traffic: Traffic,
        settings: Settings,
        *,
        jobs: Callable[[], int],
        failures: HandlerFailures,
    ) -> None:
        self._world = world
        self._settings = settings
        self._jobs = jobs
        self._state = state
        self._control_client = control
        self._traffic = traffic
        self._failures = failures

    def __repr__(self) -> str:
        return f"Dailybot(command={self._world.command.intent!r}, now={self.now.isoformat()})"

    # -- acting as Dailybot ----------------------------------------------------------------

    def invoke(self, text: str, *, user: User | str | None = None) -> Reply:
        """Types `text` (the intent, then the query) as `user` and answers the command's reply."""
        __tracebackhide__ = True
        who = self._world.user(user)
        intent, _, query = text.strip().partition(" ")
        if not intent:
            raise KitError("invoke() needs a command to type, e.g. invoke('remember color blue')")
        body: dict[str, Any] = {"intent": intent, "query": query.strip(), "user_uuid": who.uuid}
        if any(
            c.organization_uuid == who.organization_uuid
            for c in self._state.world.commands_for_intent(intent)
        ):
            body["organization_uuid"] = who.organization_uuid
        answer = self._control("POST", "/_emulator/invoke", body)
        self._run_jobs()
        self._failures.raise_unexpected()
        if answer.get("status_code") != 200:
            problem = answer.get("error") or answer.get("reply")
            raise KitError(
                f"Dailybot invoked {text!r} as {who.full_name}; the command answered"
                f" {answer.get('status_code')}: {problem}\n{self.describe()}"
            )
        return Reply.from_json(answer.get("reply"))

    def click(self, button: Button, *, user: User | str | None = None) -> Reply:
        """Clicks `button` as `user`: Dailybot runs its value as a command they typed."""
        __tracebackhide__ = True
        if button.button_type != "Command":
            raise KitError(f"a {button.button_type!r} button runs no command")
        return self.invoke(button.value, user=user)

    def fire_event(
        self,
        name: str,
        body: Mapping[str, Any] | None = None,
        *,
        organization: str | None = None,
        subscribed_object: str | None = None,
    ) -> int:
        """Publishes event `name` in the deployment's organization (or `organization`) to
        every hook subscribed to it; answers how many hooks were called."""
        __tracebackhide__ = True
        before = len(self._traffic.deliveries)
        answer = self._control(
            "POST",
            "/_emulator/events",
            {
                "organization_uuid": organization or self._world.command.organization_uuid,
                "event": name,
                "body": dict(body or {}),
                "subscribed_object": subscribed_object,
            },
        )
        self._check_answered(self._traffic.deliveries[before:])
        self._run_jobs()
        self._failures.raise_unexpected()
        return int(answer["deliveries"])

    def advance(self, **duration: float) -> list[Reply]:
        """Moves the virtual clock by `timedelta(**duration)`, firing every scheduled
        execution that falls due, in order; answers their replies."""
        __tracebackhide__ = True
        seconds = timedelta(**duration).total_seconds()
        if seconds < 0:
            raise KitError("the clock only moves forward")
        before = len(self._traffic.deliveries)
        self._control("POST", "/_emulator/clock/advance", {"seconds": seconds})
        fired = [
            d
            for d in self._traffic.deliveries[before:]
            if isinstance(d.body, Mapping) and "scheduled_execution" in d.body
        ]
        self._check_answered(fired)
        self._run_jobs()
        self._failures.raise_unexpected()
        return [Reply.from_json(d.answer) for d in fired]

    def fail(self, path: str, status: int, times: int = 1) -> None:
        """The next `times` platform API calls whose path starts with `path` (for example
        `/v1/platform/storage/`) answer `status` (429, 500 or 503)."""
        __tracebackhide__ = True
        full = path if path.startswith("/") else f"/v1/{path}"
        self._control("POST", "/_emulator/faults", {"path": full, "status": status, "times": times})

    def expecting_errors(self) -> AbstractContextManager[list[HandlerFailure]]:
        """Within it, a handler that raises (or a job that fails for good) does not fail the
        test: the user gets the friendly reply, and the failures are collected in the list
        it gives, for the test to look at.

            with dailybot.expecting_errors() as errors:
                assert "went wrong" in dailybot.invoke("boom").message
            assert isinstance(errors[0].error, ZeroDivisionError)
        """
        return self._failures.expected()

    def _run_jobs(self) -> None:
        self._jobs()

    # -- what the platform holds -------------------------------------------------------------

    @property
    def users(self) -> tuple[User, ...]:
        """The fixture users, in file order (the first is who types by default)."""
        return self._world.users

    @property
    def user(self) -> User:
        """Who types when `invoke` names nobody."""
        return self._world.default_user

    @property
    def now(self) -> datetime:
        """The platform's (virtual) clock."""
        moment = instant(self._state.clock.now())
        assert moment is not None
        return moment

    @property
    def storage(self) -> Mapping[str, Any]:
        """The command's storage in its own organization (read-only, as it is now)."""
        return self.storage_for(self.user)

    def storage_for(self, user: User | str) -> Mapping[str, Any]:
        """The command's storage as `user`'s organization sees it."""
        who = self._world.user(user)
        scope = command_scope(who.organization_uuid, self._world.command.uuid)
        return MappingProxyType(scope_values(self._state.database, scope))

    def user_storage(self, user: User | str | None = None) -> Mapping[str, Any]:
        """A user's own storage (`ctx.user_storage`; the default user's), read-only, as now."""
        who = self._world.user(user)
        namespace = user_storage_namespace(self._settings.registry_namespace, who.uuid)
        scope = namespace_scope(self._world.command.organization_uuid, namespace)
        return MappingProxyType(scope_values(self._state.database, scope))

    @property
    def activity(self) -> list[ActivityRecord]:
        """The command's activity records in its organization, newest first."""
        records = command_activity(
            self._state.database, self._world.command.organization_uuid, self._world.command.uuid
        )
        return [ActivityRecord(**record) for record in records]

    @property
    def messages(self) -> list[SentMessage]:
        """Follow-up messages sent through the platform, oldest first, with their targets."""
        return [SentMessage.from_record(m) for m in self._control("GET", "/_emulator/messages")]

    @property
    def schedules(self) -> list[Schedule]:
        """The scheduled executions the platform holds for the command, in every
        organization that uses it, oldest first (each says its `organization_uuid`)."""
        return [
            Schedule(
                **{name: getattr(s, name) for name in SCHEDULE_FIELDS},
                uuid=s.uuid,
                is_active=s.is_active,
                organization_uuid=s.organization_uuid,
                user_uuid=s.user_uuid,
                executions=s.executions,
                next_fire_at=instant(s.next_fire_at),
            )
            for s in command_schedules(self._state.database, self._world.command.uuid)
        ]

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt the platform made, oldest first: what was sent (tokens
        hidden), the status and what the command answered."""
        found = []
        by_digest = self._traffic.by_digest()
        taken: dict[str, int] = {}
        for record in self._control("GET", "/_emulator/deliveries"):
            digest = record["body_sha256"]
            attempts = by_digest.get(digest, [])
            index = taken[digest] = taken.get(digest, -1) + 1
            seen = attempts[index] if index < len(attempts) else None
            found.append(
                Delivery(
                    kind=record["kind"],
                    attempt=record["attempt"],
                    status=record["status"],
                    error=record["error"],
                    at=record["at"],
                    body=seen.body if seen is not None else {},
                    answer=seen.answer if seen is not None else None,
                )
            )
        return found

    @property
    def calls(self) -> list[PlatformCall]:
        """Every platform API call the runtime made, oldest first (tokens hidden)."""
        return list(self._traffic.calls)

    # -- for the kit itself ------------------------------------------------------------------

    def secrets(self) -> tuple[str, ...]:
        """The API keys, signatures and every exchange token seen so far."""
        return (*self._world.secrets(), *sorted(self._traffic.tokens))

    def describe(self, last: int = SHOWN_ON_FAILURE) -> str:
        """What the platform saw: the last deliveries and platform calls, one line each."""
        lines = [f"platform clock: {self.now.isoformat()}"]
        try:
            deliveries: Sequence[Delivery] = self.deliveries
        except KitError as exc:  # pragma: no cover - the emulator answers its own API
            deliveries = []
            lines.append(f"(deliveries unavailable: {exc})")
        lines.append(f"last deliveries ({len(deliveries)} in all):")
        lines += summaries(deliveries, last) or ["  none"]
        lines.append(f"last platform calls ({len(self._traffic.calls)} in all):")
        lines += summaries(self._traffic.calls, last) or ["  none"]
        return redact_text("\n".join(lines), self.secrets())

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        __tracebackhide__ = True
        response = self._control_client.request(method, path, json=body)
        if response.status_code >= 400:
            raise KitError(f"the emulator refused {method} {path}: {response.text}")
        return response.json() if response.content else None

    def _check_answered(self, deliveries: Sequence[WireDelivery]) -> None:
        __tracebackhide__ = True
        for delivery in deliveries:
            if delivery.status >= 300:
                raise KitError(
                    f"the command answered {delivery.status} to a delivery: {delivery.answer}"
                    f"\n{self.describe()}"
                )


class HandlerFailures:
    """The handlers that raised (or overran, or a job that failed on its last attempt) during a
    kit action: each fails the test with its exception, unless the test expects errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[HandlerFailure] = []
        self._expecting: list[list[HandlerFailure]] = []

    def __call__(self, failure: HandlerFailure) -> None:
        with self._lock:
            target = self._expecting[-1] if self._expecting else self._seen
            target.append(failure)

    @contextmanager
    def expected(self) -> Iterator[list[HandlerFailure]]:
        collected: list[HandlerFailure] = []
        with self._lock:
            self._expecting.append(collected)
        try:
            yield collected
        finally:
            with self._lock:
                self._expecting.remove(collected)

    def raise_unexpected(self) -> None:
        __tracebackhide__ = True
        with self._lock:
            seen, self._seen = self._seen, []
        if not seen:
            return
        first = seen[0]
        where = f"job {first.job!r} of {first.subject!r}" if first.job else repr(first.subject)
        trace = "".join(traceback.format_exception(first.error)).rstrip()
        more = ""
        if len(seen) > 1:
            more = f"\n({len(seen) - 1} more handler failure(s) in the same action)"
        raise KitError(
            f"the handler of {where} raised {type(first.error).__name__}: {first.error}\n"
            f"{trace}{more}\n(the user was told something went wrong; use "
            "`with dailybot.expecting_errors():` when that is what the test checks)"
        ) from first.error


def kit_environment(world: KitWorld) -> dict[str, str]:
    """The deployment's settings against the kit's platform (as a stage's variables)."""
    owner = world.default_user
    return {
        "DAILYBOT_API_URL": f"{PLATFORM_URL}/v1/",
        "DAILYBOT_API_KEY": world.api_key,
        "DAILYBOT_SIGNATURES": f"{world.command.uuid}:{world.command.signature}",
        "DAILYBOT_PUBLIC_URL": world.command.url,
        "DAILYBOT_OWNER_UUID": owner.uuid,
        "DAILYBOT_OWNER_ORGANIZATION": owner.organization_uuid,
        # One throwaway ledger per test: two tests' first deliveries may be the same bytes.
        "IDEMPOTENCY_STORE": "sqlite:///:memory:",
    }


def _fresh_emulator(world: KitWorld, wire: CommandWire) -> EmulatorState:
    config = EmulatorConfig(
        db=":memory:",
        clock="virtual",
        redelivery_pause=0.0,
        allowed_hosts=(httpx.URL(PLATFORM_URL).host,),
    )
    return build_state(config, world.world, delivery_transport=wire)


def _register(deployment: Deployment, env: dict[str, str], transport: PlatformWire) -> None:
    """What `make sync` does before the first delivery: declared schedules and hook."""
    out = io.StringIO()
    status = sync.main(
        [], declarations=deployment.registry, env=env, transport=transport, out=out, err=out
    )
    if status != sync.EXIT_OK:
        raise KitError(
            f"registering the declared schedules and event hook failed:\n{out.getvalue()}"
        )


class _KitDeliveries:
    """The app as this kit's platform reaches it: every delivery is answered by this kit's
    own runtime, whatever other kit is open in the process (the app's container is shared)."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self.runtime: Runtime | None = None

    def post(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.runtime is None:
            raise KitError("a delivery reached the app before the kit's runtime was built")
        with self._deployment.container.serving(self.runtime):
            return self._deployment.post(path, headers, body)


# The secrets of every kit open in this process: the log scrubber is one per process, and
# each kit's runtime would otherwise replace the others' secrets with its own.
_open_kits_secrets: list[tuple[Secret | None, ...]] = []


@contextmanager
def _scrubbing(settings: Settings) -> Iterator[None]:
    secrets = (settings.api_key, *(each.value for each in settings.signatures))
    _open_kits_secrets.append(secrets)
    redactor.configure(itertools.chain.from_iterable(_open_kits_secrets))
    try:
        yield
    finally:
        _open_kits_secrets.remove(secrets)
        redactor.configure(itertools.chain.from_iterable(_open_kits_secrets))


@contextmanager
def open_dailybot(deployment: Deployment, world: KitWorld) -> Iterator[Dailybot]:
    """A `Dailybot` on a fresh platform, whose deliveries reach the deployment's app and,
    through it, a runtime of this kit's own.

    Kits nest: each serves its own deliveries, platform, storage and jobs, so a test may
    open another (a registry of its own, say) while the `dailybot` fixture is open.
    """
    traffic = Traffic()
    # Deliveries run one at a time; a second worker covers a delivery made while one runs.
    workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dailybot-delivery")
    app = _KitDeliveries(deployment)
    state = _fresh_emulator(world, CommandWire(app.post, traffic, workers))
    emulator = create_app(state.config, state=state)
    platform = PlatformWire(emulator, traffic)
    control = httpx.Client(transport=PlatformWire(emulator), base_url=PLATFORM_URL)
    env = kit_environment(world)
    runtime = None
    try:
        _register(deployment, env, platform)
        settings = Settings.from_env(env)
        jobs = InlineJobs()
        failures = HandlerFailures()
        runtime = build_runtime(
            deployment.registry,
            settings,
            transport=platform,
            queue=jobs,
            wall_clock=state.clock.now,
            on_failure=failures,
        )
        app.runtime = runtime
        with _scrubbing(settings):
            yield Dailybot(
                world,
                state,
                control,
                traffic,
                settings,
                jobs=lambda: jobs.run_pending(runtime.job_runner),
                failures=failures,
            )
    finally:
        if runtime is not None:
            runtime.close()
        control.close()
        run_to_completion(state.dispatcher.aclose())
        state.database.close()
        workers.shutdown(wait=True)


__all__ = ["Dailybot", "KitError", "kit_environment", "open_dailybot"]
