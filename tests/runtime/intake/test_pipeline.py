"""Every intake outcome through the Chalice app: refusals, duplicates, failures, hooks."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from chalice.test import Client

from app import app, container, registry
from chalicelib.dailybot.events import EVENT_NAMES
from chalicelib.runtime.context import Context, PlatformSession
from chalicelib.runtime.intake.delivery import Delivery
from chalicelib.runtime.intake.http import IncomingRequest
from chalicelib.runtime.registry import CommandRegistry
from chalicelib.runtime.replies import Button, Reply
from chalicelib.settings import Settings
from tests.runtime.conftest import Poster, RuntimeFactory
from tests.runtime.deliveries import (
    ROTATED_SIGNATURE,
    SIGNATURE,
    encode,
    headers,
    invocation,
    now_iso,
    sample,
)
from tests.runtime.fake_platform import DELIVERED_TOKEN, FakePlatform

# -- 1. signature ---------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "", "wrong-signature", SIGNATURE + "x"])
def test_a_missing_or_wrong_signature_is_refused_and_nothing_else_happens(
    deliver: Poster, platform: FakePlatform, signature: str | None, capsys: Any
) -> None:
    response = deliver(invocation("remember", "color blue"), signature=signature)

    assert response.status_code == 401
    assert response.json_body["code"] == "invalid_signature"
    assert platform.calls == []
    out = capsys.readouterr().out
    assert "color blue" not in out
    assert "wrong-signature" not in out


def test_a_rotated_signature_is_accepted(deliver: Poster) -> None:
    response = deliver(invocation("recall", "color"), signature=ROTATED_SIGNATURE)

    assert response.status_code == 200


# -- 2. parse and validate ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "names"),
    [
        (b"not json", 400, "invalid_json", ""),
        (b"\xff\xfe", 400, "invalid_json", ""),
        (b"[1, 2]", 400, "invalid_body", ""),
        (encode({"intent": "remember"}), 400, "missing_field", "event_timestamp"),
        (encode({**invocation("remember"), "intent": ""}), 400, "missing_field", "intent"),
        (encode({**invocation("remember"), "user_uuid": 5}), 400, "invalid_field", "user_uuid"),
        (encode({**invocation("remember"), "user_uuid": "jane"}), 400, "invalid_uuid", "user_uuid"),
        (
            encode({**invocation("remember"), "exchange_token": "tok\u00e9n"}),
            400,
            "invalid_field",
            "exchange_token",
        ),
        (
            encode({**invocation("remember"), "user_uuid": "a" * 200_000}),
            400,
            "invalid_uuid",
            "user_uuid",
        ),
        (
            encode({**invocation("remember"), "organization_uuid": "acme"}),
            400,
            "invalid_uuid",
            "organization_uuid",
        ),
        (
            encode({**invocation("remember"), "command_uuid": "c-1"}),
            400,
            "invalid_uuid",
            "command_uuid",
        ),
        (
            encode({**invocation("remember"), "event_timestamp": "noon"}),
            400,
            "invalid_field",
            "event_timestamp",
        ),
        (
            encode({**invocation("remember"), "event_timestamp": True}),
            400,
            "invalid_field",
            "event_timestamp",
        ),
        (
            encode({**invocation("remember"), "user_context": "x"}),
            400,
            "invalid_field",
            "user_context",
        ),
        (
            encode(sample("event_kudos_posted", event=None, organization_uuid=None)),
            400,
            "missing_field",
            "organization_uuid",
        ),
        (
            encode(sample("scheduled_standup_reminder", scheduled_execution={"uuid": "s"})),
            400,
            "missing_field",
            "scheduled_execution.'name'",
        ),
    ],
)
def test_a_bad_body_gets_a_clear_4xx(
    deliver: Poster, platform: FakePlatform, body: bytes, status: int, code: str, names: str
) -> None:
    response = deliver(body)

    assert response.status_code == status
    assert response.json_body["code"] == code
    assert names.replace("'", "") in response.json_body["message"].replace("'", "")
    assert platform.calls == []


def test_a_body_over_the_limit_is_refused(deliver: Poster) -> None:
    body = invocation("remember", "big " + "x" * (256 * 1024))

    response = deliver(body)

    assert response.status_code == 413
    assert response.json_body["code"] == "body_too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_any_content_type_reaches_the_intake(deliver: Poster, content_type: str) -> None:
    response = deliver(invocation("recall", "color"), content_type=content_type)

    assert response.status_code == 200


# -- 3. freshness ---------------------------------------------------------------------------


def test_a_stale_delivery_is_refused(deliver: Poster, platform: FakePlatform) -> None:
    response = deliver(invocation("recall", "color", event_timestamp=now_iso(-301)))

    assert response.status_code == 400
    assert response.json_body["code"] == "stale_delivery"
    assert platform.calls == []


def test_a_delivery_far_in_the_future_is_refused(deliver: Poster) -> None:
    response = deliver(invocation("recall", "color", event_timestamp=now_iso(+301)))

    assert response.status_code == 400
    assert response.json_body["code"] == "delivery_in_future"


def test_unix_timestamps_are_accepted(deliver: Poster) -> None:
    assert deliver(invocation("recall", "a", event_timestamp=time.time())).status_code == 200
    assert deliver(invocation("recall", "b", event_timestamp=str(time.time()))).status_code == 200


def test_a_zero_max_age_turns_freshness_off(make_runtime: RuntimeFactory) -> None:
    make_runtime(DAILYBOT_MAX_DELIVERY_AGE="0")
    with Client(app, stage_name="test") as client:
        response = client.http.post(
            "/dailybot",
            headers=headers(),
            body=encode(invocation("recall", "color", event_timestamp="2001-01-01T00:00:00")),
        )

    assert response.status_code == 200


# -- 4. de-duplication ----------------------------------------------------------------------


def test_a_duplicate_gets_the_first_reply_and_does_not_run_again(
    deliver: Poster, platform: FakePlatform, capsys: Any
) -> None:
    body = invocation("remember", "color blue")
    first = deliver(body)
    # A redelivery carries a fresh exchange token: still the same delivery.
    second = deliver({**body, "exchange_token": "xt-another-token-0002"})

    assert second.status_code == 200
    assert second.json_body == first.json_body
    assert len([c for c in platform.calls if c.body and c.body.get("op") == "set"]) == 1
    outcomes = [json.loads(line).get("outcome") for line in _log_lines(capsys)]
    assert outcomes.count("answered") == 1
    assert outcomes.count("duplicate") == 1


def test_a_duplicate_in_progress_gets_a_polite_reply_and_does_not_run(
    make_runtime: RuntimeFactory,
) -> None:
    release = threading.Event()
    started = threading.Event()
    runs: list[str] = []
    commands = CommandRegistry()

    @commands.command("slow")
    def slow(ctx: Context) -> str:
        runs.append(ctx.text)
        started.set()
        release.wait(5)
        return "done"

    runtime = make_runtime(commands=commands)
    request = IncomingRequest.of(encode(invocation("slow", "once")), headers())
    replies: list[Any] = []
    first = threading.Thread(target=lambda: replies.append(runtime.intake.handle(request)))
    first.start()
    assert started.wait(5)

    duplicate = runtime.intake.handle(request)
    release.set()
    first.join(5)

    assert duplicate.status == 200
    assert "still working" in duplicate.body["message"]
    assert runs == ["once"]
    assert replies[0].body == {"message": "done"}


def test_an_unavailable_store_answers_503_so_dailybot_redelivers(
    runtime: Any, deliver: Poster, platform: FakePlatform
) -> None:
    runtime.ledger.store.path.mkdir()  # a directory where the database file should be

    response = deliver(invocation("recall", "color"))

    assert response.status_code == 503
    assert response.json_body["code"] == "store_unavailable"
    assert platform.calls == []


# -- 5. dispatch and failures ---------------------------------------------------------------


def test_an_unknown_intent_lists_the_available_commands(deliver: Poster) -> None:
    message = deliver(invocation("dance")).json_body["message"]

    assert "*dance*" in message
    for intent in ("remember", "recall", "forget", "history", "standup-reminder"):
        assert f"`{intent}`" in message


def test_an_unknown_event_or_schedule_is_acknowledged_and_logged(
    deliver: Poster, platform: FakePlatform, capsys: Any
) -> None:
    # An event no command module of this deployment handles (a team may add handlers).
    unhandled = next(name for name in EVENT_NAMES if registry.event_handler(name) is None)
    event = deliver(sample("event_kudos_posted", event=unhandled))
    scheduled = deliver(
        sample("scheduled_standup_reminder", scheduled_execution={"name": "nobody", "uuid": "u"})
    )

    assert (event.status_code, event.json_body) == (200, {"status": "accepted"})
    assert (scheduled.status_code, scheduled.json_body) == (200, {"status": "accepted"})
    assert platform.calls == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line[:1]]
    warnings = [line for line in lines if line.get("level") == "WARNING"]
    assert [(w["kind"], w.get("event"), w.get("schedule")) for w in warnings] == [
        ("event", unhandled, None),
        ("scheduled", None, "nobody"),
    ]
    assert all("no handler" in w["message"] for w in warnings)


def _failing_registry() -> CommandRegistry:
    commands = CommandRegistry()

    @commands.command("boom")
    def boom(ctx: Context) -> str:
        raise RuntimeError(f"internal detail {DELIVERED_TOKEN}")

    @commands.command("flaky")
    def flaky(ctx: Context) -> str:
        ctx.storage.get("anything")
        return "unreachable"

    @commands.command("fancy")
    def fancy(ctx: Context) -> Reply:
        return Reply("pick", buttons=[Button("Yes", "fancy yes")], image_url="https://x/y.png")

    @commands.command("wrong")
    def wrong(ctx: Context) -> Any:
        return 42

    @commands.command("sleepy")
    def sleepy(ctx: Context) -> str:
        time.sleep(1.5)
        return "late"

    return commands


def test_a_handler_exception_gets_a_friendly_reply_and_is_recorded(
    make_runtime: RuntimeFactory, platform: FakePlatform, capsys: Any
) -> None:
    runtime = make_runtime(commands=_failing_registry())

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("boom")), headers()))

    assert response.status == 200
    assert "something went wrong" in response.body["message"]
    assert "internal detail" not in json.dumps(response.body)
    [error] = [r for r in platform.activity if r["category"] == "error"]
    assert (error["action"], error["label"]) == ("handler_failed", "boom")
    assert error["metadata"] == {"kind": "command", "error": "RuntimeError"}
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert "internal detail [redacted]" in out
    assert '"HandlerErrors":[1.0]' in out


def test_a_platform_failure_gets_a_friendly_reply(
    make_runtime: RuntimeFactory, platform: FakePlatform, capsys: Any
) -> None:
    runtime = make_runtime(commands=_failing_registry())
    platform.fail("platform/storage/", *[503] * 10)

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("flaky")), headers()))

    assert "something went wrong" in response.body["message"]
    [error] = [r for r in platform.activity if r["category"] == "error"]
    assert error["action"] == "platform_failed"
    assert '"PlatformErrors":[1.0]' in capsys.readouterr().out


def test_a_rate_limit_longer_than_the_cap_is_answered_without_waiting(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime(commands=_failing_registry(), DAILYBOT_MAX_RETRY_AFTER="5")
    platform.fail("platform/storage/", 429, 429)
    platform.retry_after = "30"

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("flaky")), headers()))

    assert "something went wrong" in response.body["message"]
    # One attempt: the platform asked for 30 s, over the 5 s cap, so the client gave up at once
    # rather than sleeping 5 s and being refused again.
    assert len(platform.calls_to("platform/storage/")) == 1
    assert platform.faults["platform/storage/"] == [429]


def test_when_even_the_failure_cannot_be_recorded_the_user_still_gets_a_reply(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime(commands=_failing_registry())
    platform.fail("platform/activity/", *[503] * 10)

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("boom")), headers()))

    assert "something went wrong" in response.body["message"]


def test_an_unexpected_intake_failure_is_a_500_without_details(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(runtime.ledger, "run_once", broken)

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("recall")), headers()))

    assert response.status == 500
    assert response.body == {
        "code": "internal_error",
        "message": "The delivery could not be handled.",
    }


def test_a_reply_with_buttons_and_image(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(commands=_failing_registry())

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("fancy")), headers()))

    assert response.body == {
        "message": "pick",
        "image_url": "https://x/y.png",
        "buttons": [{"label": "Yes", "value": "fancy yes", "button_type": "Command"}],
    }


def test_a_handler_returning_nonsense_fails_politely(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(commands=_failing_registry())

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("wrong")), headers()))

    assert "something went wrong" in response.body["message"]


def test_an_overrunning_handler_gets_a_reply_in_time(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(
        commands=_failing_registry(), DAILYBOT_REPLY_BUDGET="1.0", DAILYBOT_REPLY_MARGIN="0.5"
    )
    started = time.monotonic()

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("sleepy")), headers()))

    assert time.monotonic() - started < 1.0
    assert "taking too long" in response.body["message"]


def test_a_delivery_without_a_token_fetches_one_for_the_user(
    deliver: Poster, platform: FakePlatform
) -> None:
    body = invocation("recall", "color")
    del body["exchange_token"]

    assert deliver(body).status_code == 200
    assert platform.calls[0].path == "auth/fetch-command-exchange-token/"
    assert platform.calls[1].token == "xt-fetched-for-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"


def test_a_rejected_delivered_token_is_replaced_once(
    deliver: Poster, platform: FakePlatform
) -> None:
    platform.rejected_tokens.add(DELIVERED_TOKEN)

    response = deliver(invocation("recall", "color"))

    assert response.status_code == 200
    assert "auth/fetch-command-exchange-token/" in [c.path for c in platform.calls]


def test_a_storage_namespace_is_used_when_configured(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime(DAILYBOT_STORAGE_NAMESPACE="team-space")

    runtime.intake.handle(IncomingRequest.of(encode(invocation("remember", "a b")), headers()))

    assert platform.storage["team-space"] == {"a": "b"}
    [storage_call] = platform.calls_to("platform/storage/")
    assert storage_call.token is None


# -- the self-registration check -----------------------------------------------------------


class RecordingCheck:
    def __init__(self, fail: bool = False, *, due: bool = True) -> None:
        self.calls: list[tuple[str | None, float]] = []
        self.fail = fail
        self._due = due

    def due(self, organization_uuid: str) -> bool:
        return self._due

    def check(self, delivery: Delivery, session: PlatformSession) -> None:
        assert session.deadline is not None
        self.calls.append((delivery.organization_uuid, session.deadline.remaining()))
        if self.fail:
            raise RuntimeError("check broke")


def test_the_registration_check_runs_once_per_verified_new_delivery_with_a_capped_deadline(
    make_runtime: RuntimeFactory,
) -> None:
    check = RecordingCheck()
    runtime = make_runtime(registration=check)
    body = encode(invocation("recall", "color"))

    ok = runtime.intake.handle(IncomingRequest.of(body, headers()))
    runtime.intake.handle(IncomingRequest.of(body, headers()))  # duplicate: no check
    runtime.intake.handle(IncomingRequest.of(body, headers(signature="bad")))

    assert ok.status == 200
    assert len(check.calls) == 1
    organization, remaining = check.calls[0]
    assert organization == "11111111-1111-4111-8111-111111111111"
    assert 0 < remaining <= 3.0


def test_a_failing_registration_check_is_counted_and_the_delivery_goes_on(
    make_runtime: RuntimeFactory, capsys: Any
) -> None:
    check = RecordingCheck(fail=True)
    runtime = make_runtime(registration=check)

    ok = runtime.intake.handle(IncomingRequest.of(encode(invocation("recall", "c")), headers()))

    assert ok.status == 200
    assert len(check.calls) == 1
    assert '"ReconcileErrors":[1.0]' in capsys.readouterr().out


def test_a_registration_check_that_is_not_due_is_not_run(make_runtime: RuntimeFactory) -> None:
    check = RecordingCheck(due=False)
    runtime = make_runtime(registration=check)

    ok = runtime.intake.handle(IncomingRequest.of(encode(invocation("recall", "c")), headers()))

    assert ok.status == 200
    assert check.calls == []


def test_the_registration_check_runs_beside_the_handler_and_the_reply_waits_for_it(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    class WaitingCheck(RecordingCheck):
        """Waits for the handler's storage call, which in series could only come after."""

        saw_the_handler: bool | None = None
        finished = False

        def check(self, organization_uuid: str | None, session: PlatformSession) -> None:
            give_up = time.monotonic() + 5
            while not platform.calls_to("platform/storage/") and time.monotonic() < give_up:
                time.sleep(0.005)
            self.saw_the_handler = bool(platform.calls_to("platform/storage/"))
            time.sleep(0.05)  # still running when the handler is done
            self.finished = True

    check = WaitingCheck()
    runtime = make_runtime(registration=check)

    ok = runtime.intake.handle(IncomingRequest.of(encode(invocation("recall", "c")), headers()))

    assert ok.status == 200
    assert check.saw_the_handler is True
    assert check.finished  # joined before the reply left


# -- app wiring -----------------------------------------------------------------------------


def test_health_answers_without_the_platform(client: Client, platform: FakePlatform) -> None:
    response = client.http.get("/health")

    assert response.json_body == {"status": "ok"}
    assert platform.calls == []


def test_the_runtime_is_built_lazily_from_the_environment(env: dict[str, str]) -> None:
    container.reset(None)
    with Client(app, stage_name="test") as client:
        health = client.http.get("/health")
        assert container._runtime is None
        refused = client.http.post("/dailybot", headers=headers(signature="x"), body=b"{}")

    assert health.status_code == 200
    assert refused.status_code == 401
    assert container._runtime is not None
    container.reset(None)


def _log_lines(capsys: Any) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if "delivery finished" in line]


# -- the handler's context, replies and time budget ------------------------------------------


def test_deliveries_without_a_token_fetch_one_once_through_the_broker(
    deliver: Poster, platform: FakePlatform
) -> None:
    fetched = "xt-fetched-for-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    first = invocation("remember", "color blue")
    second = invocation("recall", "color")
    for body in (first, second):
        del body["exchange_token"]

    assert deliver(first).json_body == {"message": "Got it: *color* is `blue`."}
    assert deliver(second).json_body == {"message": "*color* is `blue`."}

    assert len(platform.calls_to("auth/fetch-command-exchange-token/")) == 1
    [fetch] = platform.calls_to("auth/fetch-command-exchange-token/")
    assert fetch.body["user_uuid"] == "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    others = [c for c in platform.calls if c.path != "auth/fetch-command-exchange-token/"]
    assert {c.token for c in others} == {fetched}
    assert [(r["category"], r["label"]) for r in platform.activity] == [
        ("usage", "remember"),
        ("usage", "recall"),
    ]


def test_deliveries_naming_many_users_keep_the_token_cache_bounded(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    runtime = make_runtime(DAILYBOT_TOKEN_CACHE_SIZE="4")
    users = [f"{n:08x}-aaaa-4aaa-8aaa-aaaaaaaaaaaa" for n in range(30)]

    def deliver_as(user: str, query: str = "") -> None:
        body = invocation("history", query, user_uuid=user)
        del body["exchange_token"]
        response = runtime.intake.handle(IncomingRequest.of(encode(body), headers()))
        assert response.status == 200

    for user in users:
        deliver_as(user)
    # The four most recent users are still cached; the first one was let go long ago.
    for user in users[-4:]:
        deliver_as(user, "again")
    deliver_as(users[0], "again")

    fetched = [c.body["user_uuid"] for c in platform.calls_to("auth/fetch-command-exchange-token/")]
    assert fetched == [*users, users[0]]


def test_a_scheduled_delivery_without_a_token_acts_for_its_owner(
    deliver: Poster, platform: FakePlatform
) -> None:
    body = sample("scheduled_standup_reminder")
    del body["exchange_token"]

    response = deliver(body)

    assert "time for standup" in response.json_body["message"]
    [record] = platform.activity
    assert (record["category"], record["action"]) == ("schedule", "fired")
    assert platform.calls_to("platform/activity/")[0].token == (
        f"xt-fetched-for-{body['user_uuid']}"
    )


def test_an_event_without_a_token_or_user_fails_politely(
    deliver: Poster, platform: FakePlatform
) -> None:
    body = sample("event_kudos_posted")
    del body["exchange_token"]

    response = deliver(body)

    assert response.status_code == 200
    assert "something went wrong" in response.json_body["message"]
    assert platform.calls == []


def _reply_registry() -> CommandRegistry:
    commands = CommandRegistry()

    @commands.command("many")
    def many(ctx: Context) -> Reply:
        return Reply("pick", buttons=[Button(f"b{n}", f"many {n}") for n in range(26)])

    @commands.command("most")
    def most(ctx: Context) -> Reply:
        return Reply("pick", buttons=[Button(f"b{n}", f"most {n}") for n in range(25)])

    return commands


def test_a_reply_with_26_buttons_is_an_error_for_the_developer_not_the_user(
    make_runtime: RuntimeFactory, platform: FakePlatform, capsys: Any
) -> None:
    runtime = make_runtime(commands=_reply_registry())

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("many")), headers()))
    allowed = runtime.intake.handle(IncomingRequest.of(encode(invocation("most")), headers()))

    assert response.status == 200
    assert set(response.body) == {"message"}
    assert "something went wrong while running *many*" in response.body["message"]
    assert "InvalidReply: a reply has at most 25 buttons, got 26" in capsys.readouterr().out
    [error] = [r for r in platform.activity if r["category"] == "error"]
    assert error["metadata"] == {"kind": "command", "error": "InvalidReply"}
    assert len(allowed.body["buttons"]) == 25


def test_every_platform_call_gets_the_budget_that_is_left(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    commands = CommandRegistry()

    @commands.command("late")
    def late(ctx: Context) -> str:
        ctx.storage.get("early")
        time.sleep(0.6)
        ctx.storage.get("late")
        return "done"

    runtime = make_runtime(
        commands=commands, DAILYBOT_REPLY_BUDGET="2.5", DAILYBOT_REPLY_MARGIN="0.5"
    )

    response = runtime.intake.handle(IncomingRequest.of(encode(invocation("late")), headers()))

    assert response.body == {"message": "done"}
    # The usage record runs beside the handler: find each call by what it is.
    [usage] = platform.calls_to("platform/activity/")
    early, last = platform.calls_to("platform/storage/")
    assert usage.read_timeout is not None
    assert early.read_timeout is not None
    assert last.read_timeout is not None
    # The handler's budget is 2.5 - 0.5 = 2 s; the configured read timeout is 5 s.
    assert 1.5 < early.read_timeout <= 2.0
    assert 1.5 < usage.read_timeout <= 2.0
    assert last.read_timeout <= early.read_timeout - 0.5


def test_a_command_that_overruns_the_default_budget_is_answered_before_ten_seconds(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deployment's defaults: Dailybot's ten seconds, less the margin kept for the reply.
    monkeypatch.delenv("DAILYBOT_REPLY_BUDGET")
    monkeypatch.delenv("DAILYBOT_REPLY_MARGIN")
    defaults = Settings.from_env({})
    released = threading.Event()
    commands = CommandRegistry()

    @commands.command("endless")
    def endless(ctx: Context) -> str:
        released.wait(30)
        return "too late"

    runtime = make_runtime(commands=commands)
    started = time.monotonic()
    try:
        response = runtime.intake.handle(
            IncomingRequest.of(encode(invocation("endless")), headers())
        )
        left_after = time.monotonic() - started
    finally:
        released.set()

    assert "taking too long" in response.body["message"]
    # Answered when the handler's share of the budget ran out, not a moment before.
    handler_budget = defaults.reply_budget_seconds - defaults.reply_margin_seconds
    assert handler_budget - 0.05 <= left_after < defaults.reply_budget_seconds


def test_the_route_reads_its_own_request_even_if_another_thread_replaced_the_apps(
    runtime: Any, platform: FakePlatform
) -> None:
    from chalice.app import Request

    from app import dailybot_delivery
    from chalicelib.runtime.intake.chalice_adapter import current_request, keep_request

    def request(body: bytes, signature: str) -> Request:
        event = {
            "headers": {"X-DailyBot-Signature": signature, "Content-Type": "application/json"},
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "requestContext": {"httpMethod": "POST", "resourcePath": "/dailybot"},
            "body": body.decode(),
            "isBase64Encoded": False,
            "stageVariables": None,
        }
        return Request(event)

    mine = request(encode(invocation("recall", "color")), SIGNATURE)
    other = request(b"{}", "forged")

    def route(event: Request) -> Any:
        app.current_request = other  # what a concurrent request does in `chalice local`
        return dailybot_delivery()

    response = keep_request(mine, route)

    assert response.status_code == 200
    assert response.body["message"] == "Nothing is stored under *color*."
    assert current_request(app) is other
    app.current_request = None
    with pytest.raises(RuntimeError, match="no request"):
        current_request(app)


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("boom", "something went wrong"),
        ("flaky", "something went wrong"),
        ("wrong", "something went wrong"),
        ("sleepy", "taking too long"),
        ("fancy", "pick"),
    ],
)
def test_handler_outcomes_through_the_app(
    make_runtime: RuntimeFactory, platform: FakePlatform, intent: str, expected: str
) -> None:
    make_runtime(
        commands=_failing_registry(), DAILYBOT_REPLY_BUDGET="1.0", DAILYBOT_REPLY_MARGIN="0.5"
    )
    platform.fail("platform/storage/", *[503] * 10)

    with Client(app, stage_name="test") as client:
        response = client.http.post("/dailybot", headers=headers(), body=encode(invocation(intent)))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert expected in response.json_body["message"]
    assert "Traceback" not in response.body.decode()


def test_a_token_fetched_for_a_delivery_never_reaches_the_logs(
    make_runtime: RuntimeFactory, capsys: Any
) -> None:
    commands = CommandRegistry()

    @commands.command("leaky")
    def leaky(ctx: Context) -> str:
        # A handler that digs the token out of its session and puts it in an error.
        token = ctx.storage._session.as_user(lambda options: options["exchange_token"].reveal())
        raise RuntimeError(f"careless {token}")

    runtime = make_runtime(commands=commands)
    body = invocation("leaky")
    del body["exchange_token"]

    runtime.intake.handle(IncomingRequest.of(encode(body), headers()))

    out = capsys.readouterr().out
    assert "RuntimeError: careless [redacted]" in out
    assert "xt-fetched-for-" not in out
