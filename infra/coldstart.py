"""Measure the function's cold start locally and estimate it on Lambda for each memory size.

Runs the prod stage's initialisation in fresh interpreters (import `app`, then build the
runtime: secrets from SSM, the DynamoDB idempotency store, the platform client) against a
local moto server, and records the CPU time it takes. Lambda allocates CPU in proportion to
memory (one full vCPU at 1769 MB), and a cold start is CPU bound, so the local CPU time
scaled by 1769 / memory estimates the initialisation on Lambda. The figures behind the
memory size in `.chalice/config.json` come from this:

    python -m infra.coldstart [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from typing import Final

from moto.server import ThreadedMotoServer

from infra.package import ROOT

FULL_VCPU_MB: Final = 1769
MEMORY_SIZES_MB: Final = (256, 512, 1024, 1769)
TABLE: Final = "coldstart-idempotency"
# Placeholder credentials: every AWS call goes to the local moto server.
FAKE_AWS: Final = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}

# One cold start, measured from inside the fresh interpreter.
_PROBE: Final = """
import json, resource, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
wall0, cpu0 = time.perf_counter(), cpu()
import app
wall1, cpu1 = time.perf_counter(), cpu()
from app import container
container.get()
wall2, cpu2 = time.perf_counter(), cpu()
print(json.dumps({"import_wall": wall1 - wall0, "import_cpu": cpu1 - cpu0,
                  "init_wall": wall2 - wall1, "init_cpu": cpu2 - cpu1}))
"""


def _prepare(endpoint: str) -> dict[str, str]:
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - dev tool, boto3 installed

    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
    for name, value in (("api-key", "coldstart-api-key"), ("signatures", "coldstart-sig")):
        ssm.put_parameter(
            Name=f"/dailybot-runtime/prod/{name}", Value=value, Type="SecureString", Overwrite=True
        )
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env: dict[str, str] = dict(config["stages"]["prod"]["environment_variables"])
    return {
        **os.environ,
        **env,
        "IDEMPOTENCY_STORE": f"dynamodb://{TABLE}",
        "IDEMPOTENCY_DYNAMODB_ENDPOINT": endpoint,
        "AWS_ENDPOINT_URL_SSM": endpoint,
    }


def measure(runs: int) -> dict[str, float]:
    """Median seconds of import and runtime initialisation, wall and CPU, over `runs`."""
    for name, value in FAKE_AWS.items():
        os.environ.setdefault(name, value)
    # The moto server logs every request through werkzeug; the report is what matters here.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = _prepare(f"http://{host}:{port}")
        samples = []
        for _ in range(runs):
            completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
                [sys.executable, "-c", _PROBE],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    finally:
        server.stop()
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def report(medians: dict[str, float]) -> str:
    cpu = medians["import_cpu"] + medians["init_cpu"]
    lines = [
        f"import app:    {medians['import_wall'] * 1000:6.0f} ms wall, "
        f"{medians['import_cpu'] * 1000:6.0f} ms CPU",
        f"build runtime: {medians['init_wall'] * 1000:6.0f} ms wall, "
        f"{medians['init_cpu'] * 1000:6.0f} ms CPU",
        "estimated on Lambda (CPU share = memory / 1769 MB):",
    ]
    for memory in MEMORY_SIZES_MB:
        share = min(1.0, memory / FULL_VCPU_MB)
        lines.append(f"  {memory:5d} MB: {cpu / share * 1000:6.0f} ms")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.coldstart", description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(report(measure(args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
