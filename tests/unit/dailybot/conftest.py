"""Fakes at the client's seams: a scripted `httpx.MockTransport`, a clock and a recording sleep."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.retry import RetryPolicy, no_jitter
from chalicelib.redaction import Secret
from tests.clocks import FakeClock

API_KEY = "test-api-key-0123456789"
EXCHANGE_TOKEN = "test-exchange-token-abcdef"
BASE_URL = "https://api.test/v1/"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeSleep:
    """Records every wait and advances the clock by it instead of sleeping."""

    clock: FakeClock
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds


@dataclass
class ScriptedPlatform:
    """Answers requests in order from a script (the last answer repeats) and keeps them."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def script(self, *answers: Answer) -> None:
        self.answers = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.answers)) - 1
        answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def answer(
    status: int = 200, body: Any = None, *, headers: Iterable[tuple[str, str]] = ()
) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=list(headers))
    return httpx.Response(status, json=body, headers=list(headers))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def platform() -> ScriptedPlatform:
    return ScriptedPlatform([answer(200, {})])


@pytest.fixture
def client(
    platform: ScriptedPlatform, clock: FakeClock, sleep: FakeSleep
) -> Iterator[DailybotClient]:
    with DailybotClient(
        base_url=BASE_URL,
        api_key=Secret(API_KEY),
        transport=httpx.MockTransport(platform),
        retry_policy=RetryPolicy(max_attempts=3, base_delay_seconds=0.5, jitter=no_jitter),
        sleep=sleep,
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0,
    ) as built:
        yield built
