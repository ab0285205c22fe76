"""One process's first answered delivery, for the cold-start benchmark (a fresh interpreter each).

    python -m benchmarks.first_delivery ours|peer|bare

Does what a Lambda container does on its first invocation: imports the app and calls it with
an API Gateway proxy event carrying the delivery in `BENCH_DELIVERY`. Nothing else is imported
(not `chalice.test`, whose command-line machinery would cost more than some apps). Prints the
wall-clock time it answered at, so the parent counts from process start to the answer, not to
the interpreter's exit.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

MODULES = {"ours": "app", "peer": "benchmarks.peer.app", "bare": "benchmarks.peer.bare"}
# Installed for development only, never deployed: httpx imports its command line (~0.3 s of
# rich, click and pygments) when they are importable, which no Lambda container would pay.
NOT_DEPLOYED = ("click", "rich", "pygments")


class LambdaContext:
    """The attributes of Lambda's context object that the apps read."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def proxy_event(body: str, signature: str) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event for `POST /dailybot`."""
    return {
        "resource": "/dailybot",
        "path": "/dailybot",
        "httpMethod": "POST",
        "requestContext": {
            "httpMethod": "POST",
            "resourcePath": "/dailybot",
            "path": "/api/dailybot",
            "stage": "api",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "headers": {"content-type": "application/json", "x-dailybot-signature": signature},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": False,
    }


def main() -> None:
    for name in NOT_DEPLOYED:
        sys.modules[name] = None  # type: ignore[assignment]  # None makes `import name` fail
    app = importlib.import_module(MODULES[sys.argv[1]]).app
    event = proxy_event(os.environ["BENCH_DELIVERY"], os.environ["BENCH_SIGNATURE"])
    response = app(event, LambdaContext())
    answered = time.time()
    if response.get("statusCode") != 200 or "message" not in str(response.get("body")):
        sys.exit(f"{sys.argv[1]}: {response!r}")
    os.write(2, f"answered-at {answered!r}\n".encode())


if __name__ == "__main__":
    main()
