"""A command's usage record is made beside its handler, not before it, and still once.

The platform here holds the usage record back until the handler has done something: were the
record made before the handler (in series), the handler would never get to it and the test
would fail on the platform's wait, whatever the machine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.context import Context
from chalicelib.runtime.intake.http import IncomingRequest, OutgoingResponse
from chalicelib.runtime.registry import CommandRegistry
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.deliveries import encode, headers, invocation
from tests.runtime.fake_platform import FakePlatform

# Long enough never to pass on a slow machine when the two run in parallel.
WAIT_SECONDS = 5.0


def hold_usage_until(
    platform: FakePlatform, released: threading.Event
) -> Callable[[], bool | None]:
    """Makes the platform answer the usage record only once `released` is set; answers
    whether it was set in time (None until the record arrives)."""
    answer = platform.answer
    seen: list[bool] = []

    def holding(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/platform/activity/"):
            seen.append(released.wait(WAIT_SECONDS))
        return answer(request)

    platform.answer = holding  # type: ignore[method-assign]
    return lambda: seen[0] if seen else None


def deliver(runtime: Runtime, intent: str) -> OutgoingResponse:
    return runtime.intake.handle(IncomingRequest.of(encode(invocation(intent)), headers()))


def test_a_command_without_platform_calls_runs_while_its_usage_is_recorded(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    ran = threading.Event()
    commands = CommandRegistry()

    @commands.command("hello")
    def hello(ctx: Context) -> str:
        ran.set()
        return "hi"

    released_in_time = hold_usage_until(platform, ran)

    response = deliver(make_runtime(commands=commands), "hello")

    assert response.body == {"message": "hi"}
    assert released_in_time() is True
    assert [(r["category"], r["label"]) for r in platform.activity] == [("usage", "hello")]


def test_a_command_s_storage_call_overlaps_its_usage_record(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    stored = threading.Event()
    commands = CommandRegistry()

    @commands.command("keep")
    def keep(ctx: Context) -> str:
        ctx.storage.set("color", "blue")
        stored.set()
        return "kept"

    released_in_time = hold_usage_until(platform, stored)

    response = deliver(make_runtime(commands=commands), "keep")

    assert response.body == {"message": "kept"}
    assert released_in_time() is True
    assert platform.storage["command"] == {"color": "blue"}
    assert len(platform.calls_to("platform/activity/", "POST")) == 1


def test_a_handler_reading_the_activity_log_sees_its_own_usage_record(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    platform.delays["platform/activity/"] = 0.2
    commands = CommandRegistry()

    @commands.command("seen")
    def seen(ctx: Context) -> str:
        return ",".join(record.label or "" for record in ctx.activity.recent())

    runtime = make_runtime(commands=commands)

    response = deliver(runtime, "seen")

    assert response.body == {"message": "seen"}


def test_a_usage_record_that_fails_slowly_still_never_fails_the_command(
    make_runtime: RuntimeFactory, platform: FakePlatform
) -> None:
    platform.delays["platform/activity/"] = 0.1
    platform.fail("platform/activity/", *[503] * 5, method="POST")
    commands = CommandRegistry()

    @commands.command("hello")
    def hello(ctx: Context) -> str:
        return "hi"

    runtime = make_runtime(commands=commands)

    response = deliver(runtime, "hello")

    assert response.body == {"message": "hi"}
    assert platform.activity == []
