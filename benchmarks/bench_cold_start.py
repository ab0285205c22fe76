"""Cold start: process start to the first answered delivery, as a ratio to a bare Chalice app.

Each sample is a fresh interpreter that imports the app and answers one delivery through
`chalice.test.Client` (what a Lambda container does on its first invocation). The runtime's
delivery is a real `recall` against the emulator over HTTP (fetching an exchange token,
recording usage, reading storage); the bare app answers a constant.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 7

BARE = """
from chalice.app import Chalice
from chalice.test import Client
app = Chalice(app_name="bare")
@app.route("/dailybot", methods=["POST"])
def constant():
    return {"message": "pong"}
with Client(app) as client:
    assert client.http.post("/dailybot", body=b"{}").status_code == 200
"""

RUNTIME = """
import json
from datetime import UTC, datetime
from chalice.test import Client
from app import app
body = json.dumps({
    "intent": "recall", "query": "color", "event_timestamp": datetime.now(UTC).isoformat(),
    "organization_uuid": "11111111-1111-4111-8111-111111111111",
    "user_uuid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "user_full_name": "Jane Doe",
    "command_uuid": "c0000000-0000-4000-8000-000000000001",
})
headers = {"Content-Type": "application/json", "X-DailyBot-Signature": "local-signature-acme-0001"}
# A stage the config does not define: its dev environment must not replace ours.
with Client(app, stage_name="bench") as client:
    response = client.http.post("/dailybot", headers=headers, body=body)
    assert response.status_code == 200 and "color" in response.json_body["message"], response.body
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_ms(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--db", str(state / "emulator.db"), "--clock", "real"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_emulator/health", trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        env = {
            **os.environ,
            "DAILYBOT_API_URL": f"http://127.0.0.1:{port}/v1/",
            "DAILYBOT_API_KEY": "local-api-key-acme-0001",
            "DAILYBOT_SIGNATURES": "local-signature-acme-0001",
            "IDEMPOTENCY_STORE": f"sqlite:///{state / 'idempotency.sqlite3'}",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        sample_ms(BARE, env)  # warm the filesystem cache for both
        sample_ms(RUNTIME, env)
        bare = statistics.median(sample_ms(BARE, env) for _ in range(SAMPLES))
        runtime = statistics.median(sample_ms(RUNTIME, env) for _ in range(SAMPLES))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"bare Chalice app, first answer       {bare:7.0f} ms (median of {SAMPLES})")
    print(
        f"runtime, first answered delivery     {runtime:7.0f} ms (median of {SAMPLES})"
        f"   ratio {runtime / bare:4.1f}x"
    )


if __name__ == "__main__":
    main()
