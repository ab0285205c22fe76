"""Property-based requests generated from ``/openapi.json``: none may get a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from emulator_world import ACME_KEY, JANE

ST = Path(sys.executable).parent / "st"


def run_schemathesis(base_url: str, tmp_path: Path, headers: list[str]) -> None:
    header_args = [arg for header in headers for arg in ("-H", header)]
    result = subprocess.run(
        [
            str(ST),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--include-path-regex",
            "^/v1/",
            "--max-examples",
            "40",
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
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_no_generated_request_gets_a_server_error(emulator_factory: Any, tmp_path: Path):
    handle = emulator_factory(db=":memory:")
    with handle.client() as http:
        token = http.post(
            "/v1/auth/fetch-command-exchange-token/",
            headers={"X-API-KEY": ACME_KEY},
            json={"user_uuid": JANE},
        )
    run_schemathesis(
        handle.base_url,
        tmp_path,
        [f"X-API-KEY: {ACME_KEY}", f"X-EXCHANGE-TOKEN: {token.json()['token']}"],
    )
    assert handle.process.poll() is None
