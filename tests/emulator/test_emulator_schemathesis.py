"""Property-based requests generated from ``/openapi.json``: none may get a 5xx.

The platform API and the control API run against separate emulators: an injected fault is a
deliberate 5xx for the platform API, so the control run must not share a server with it. Each
run is bounded by ``--max-examples`` and a time limit.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator.emulator_world import ACME_KEY, JANE

ST = Path(sys.executable).parent / "st"
# A bound on each generated run, not a speed check: the suite runs in parallel workers on a
# small machine, where a run that takes 45 s alone can take twice that.
RUN_SECONDS = 150
EXAMPLES = 40


def run_schemathesis(
    base_url: str,
    tmp_path: Path,
    path_regex: str,
    headers: Sequence[str] = (),
    phases: str = "examples,coverage,fuzzing,stateful",
) -> str:
    header_args = [arg for header in headers for arg in ("-H", header)]
    started = time.monotonic()
    result = subprocess.run(
        [
            str(ST),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            phases,
            "--include-path-regex",
            path_regex,
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "20261128",
            "--workers",
            "1",  # one worker keeps a run reproducible from its seed
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
            "--suppress-health-check",
            "all",
            *header_args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert time.monotonic() - started < RUN_SECONDS
    return result.stdout


def operations_covered(output: str) -> int:
    """How many operations the run tested; all the selected ones, or the run is incomplete."""
    selected = re.search(r"Selected: (\d+)/\d+", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected is not None, output
    assert tested is not None, output
    assert tested.group(1) == selected.group(1), output
    return int(tested.group(1))


def test_every_described_operation_has_its_request_body(emulator: Any):
    with emulator.client() as http:
        document = http.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method in ("post", "put"):
            if method in item:
                schema = item[method]["requestBody"]["content"]["application/json"]["schema"]
                assert schema.get("$ref", "").startswith("#/components/schemas/"), (method, path)


@pytest.mark.timeout(RUN_SECONDS + 30)
def test_no_generated_platform_request_gets_a_server_error(emulator_factory: Any, tmp_path: Path):
    handle = emulator_factory(db=":memory:")
    with handle.client() as http:
        token = http.post(
            "/v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": ACME_KEY},
            json={"user_uuid": JANE},
        )
        output = run_schemathesis(
            handle.base_url,
            tmp_path,
            "^/v1/",
            [f"X-API-KEY: {ACME_KEY}", f"X-EXCHANGE-TOKEN: {token.json()['token']}"],
        )
        # Generated bodies got past validation: activity records were created.
        headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": token.json()["token"]}
        assert http.get("/v1/platform/activity/", headers=headers).json() != []
    assert operations_covered(output) == 11  # every endpoint of the seed, and send-message
    assert handle.process.poll() is None


# The control API in three runs, each on its own emulator and within its own time limit: the
# original controls, the views and controls the playground added, and what its timeline and
# inspector read. The change stream never ends, so no generated request is sent to it.
PLAYGROUND_VIEWS = r"(world|storage|activity|schedules|hooks|reset)\b"
LIVE_VIEWS = r"(timeline|inspector|users|event-examples|state\b|deliveries/)"
CONTROL_PARTS = {
    "controls": (f"^/_emulator/(?!{PLAYGROUND_VIEWS}|{LIVE_VIEWS}|stream)", 12),
    "playground-views": (f"^/_emulator/{PLAYGROUND_VIEWS}", 9),
    "live-views": (f"^/_emulator/{LIVE_VIEWS}", 7),
}


@pytest.mark.parametrize("part", list(CONTROL_PARTS))
@pytest.mark.timeout(RUN_SECONDS + 30)
def test_no_generated_control_request_gets_a_server_error(
    emulator_factory: Any, unreachable_fixtures: Path, tmp_path: Path, part: str
):
    path_regex, operations = CONTROL_PARTS[part]
    handle = emulator_factory(db=":memory:", fixtures=unreachable_fixtures)
    # The control API declares no links between operations: there is no stateful phase to run.
    output = run_schemathesis(
        handle.base_url, tmp_path, path_regex, phases="examples,coverage,fuzzing"
    )
    assert operations_covered(output) == operations
    assert handle.process.poll() is None
    assert httpx.get(f"{handle.base_url}/_emulator/health", trust_env=False).status_code == 200
