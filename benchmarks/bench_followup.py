"""Deferred work on the local stack: time from a command's reply to its job's follow-up.

The emulator (real clock), `chalice local` and the job worker run as processes, as under
`make run`; the command defers a job that does nothing, so what is measured is the queue, the
worker's poll, the job's token fetch and the follow-up's `POST /v1/send-message/` up to the
emulator recording it. The baseline is the command's own round trip (invoke to reply) in the
same run. Target: the follow-up within 1 s of the reply.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 20
TARGET_MS = 1000.0
CHALICE = ("-c", "import sys; from chalice.cli import main; sys.exit(main())")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="bench-followup-"))
    emulator_port, app_port = free_port(), free_port()
    fixtures = json.loads((ROOT / "emulator" / "fixtures" / "default.json").read_text())
    for command in fixtures["commands"]:
        command["url"] = f"http://127.0.0.1:{app_port}/dailybot"
    fixtures["commands"][0]["aliases"].append("bench-noop")
    (state / "fixtures.json").write_text(json.dumps(fixtures))
    env = {
        **os.environ,
        "DAILYBOT_API_URL": f"http://127.0.0.1:{emulator_port}/v1/",
        "DAILYBOT_API_KEY": "local-api-key-acme-0001",
        "DAILYBOT_SIGNATURES": "local-signature-acme-0001",
        "IDEMPOTENCY_STORE": f"sqlite:///{state / 'idempotency.sqlite3'}",
        "JOBS_QUEUE": f"sqlite:///{state / 'jobs.sqlite3'}",
        "DAILYBOT_EXTRA_COMMANDS": "benchmarks.noop_job",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    commands = [
        [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1",
         "--port", str(emulator_port), "--db", str(state / "emulator.db"), "--clock", "real",
         "--fixtures", str(state / "fixtures.json")],
        [sys.executable, *CHALICE, "local", "--no-autoreload", "--stage", "bench",
         "--host", "127.0.0.1", "--port", str(app_port)],
        [sys.executable, "app.py", "work"],
    ]  # fmt: skip
    processes = [
        subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for args in commands
    ]
    emulator = f"http://127.0.0.1:{emulator_port}"
    try:
        wait_ready(f"{emulator}/_emulator/health")
        wait_ready(f"http://127.0.0.1:{app_port}/health")
        with httpx.Client(base_url=emulator, timeout=30, trust_env=False) as http:

            def invoke(tag: str) -> float:
                started = time.perf_counter()
                answer = http.post("/_emulator/invoke", json={"intent": "bench-noop", "query": tag})
                assert answer.json()["reply"] == {"message": "queued"}, answer.text
                return time.perf_counter() - started

            def follow_up_after_reply(tag: str) -> tuple[float, float]:
                reply = invoke(tag)
                replied = time.perf_counter()
                while not any(
                    m["message"] == f"done {tag}" for m in http.get("/_emulator/messages").json()
                ):
                    if time.perf_counter() - replied > 30:
                        raise RuntimeError("no follow-up within 30 s")
                    time.sleep(0.005)
                return reply * 1000, (time.perf_counter() - replied) * 1000

            follow_up_after_reply("warm-up")  # the first delivery pays the cold start
            samples = [follow_up_after_reply(uuid.uuid4().hex) for _ in range(SAMPLES)]
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=10)
    replies = statistics.median(s[0] for s in samples)
    follow_ups = sorted(s[1] for s in samples)
    median = statistics.median(follow_ups)
    p95 = follow_ups[int(0.95 * (len(follow_ups) - 1))]
    print(f"command reply (invoke round trip)     {replies:7.1f} ms (median of {SAMPLES})")
    print(
        f"reply to follow-up, no-op job         {median:7.1f} ms (median)   p95 {p95:7.1f} ms"
        f"   ratio {median / replies:4.1f}x"
    )
    verdict = "met" if p95 <= TARGET_MS else "MISSED"
    print(f"target: follow-up within {TARGET_MS:.0f} ms of the reply (p95): {verdict}")


if __name__ == "__main__":
    main()
