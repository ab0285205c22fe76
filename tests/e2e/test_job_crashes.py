"""The job worker SIGKILLed at each step of a job (before the run, mid-run, after the send,
after the record, after the queue delete), each in a real worker process against the real
emulator, and the documented outcome of each: one follow-up, except after the send, where
the platform took the follow-up and the claim was not completed, which sends it twice (the
platform has no idempotency key for messages: at least once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Ports, app_environment
from soak.job_crashes import EXPECTED_FOLLOW_UPS, CrashStep, Platform, crash_every_step
from tests.emulator.emulator_process import EmulatorProcess, start_emulator

pytestmark = pytest.mark.e2e

ACME = "11111111-1111-4111-8111-111111111111"
JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    running = start_emulator(tmp_path_factory.mktemp("crash-emulator"))
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(240)
def test_a_worker_killed_at_each_step_leaves_the_documented_follow_ups(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    port = int(emulator.base_url.rsplit(":", 1)[1])
    environment = app_environment(Ports(emulator=port, app=0))

    def messages() -> list[str]:
        with emulator.client() as http:
            return [m["message"] for m in http.get("/_emulator/messages").json()]

    outcomes = crash_every_step(environment, tmp_path, Platform(ACME, JANE, "Jane Doe", messages))

    assert [o.step for o in outcomes] == list(CrashStep)
    assert [(o.step, o.follow_ups) for o in outcomes] == list(EXPECTED_FOLLOW_UPS.items())
    assert all(o.killed and o.restarted for o in outcomes), [o.describe() for o in outcomes]
