"""One "container" of the two-process concurrency test: reconciles once and prints the result.

    python -m tests.runtime.registration.reconcile_process API_URL LOCK_FILE START_AT

Waits until the wall clock reaches START_AT so both processes start together, then reconciles
the shipped-like declarations with slow schedule creates (the winner stays inside the lock
while the other arrives) and prints `{"status": ..., "uuids": ...}` as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from chalicelib.dailybot.tokens import ExchangeTokenBroker
from chalicelib.runtime.context import PlatformSession
from chalicelib.runtime.declarations import EventDeclaration, ScheduleDeclaration
from chalicelib.runtime.registration.plan import DesiredRegistration
from chalicelib.runtime.registration.reconciler import Reconciler
from tests.runtime.registration.conftest import (
    ACME,
    JANE,
    NAMESPACE,
    CountingTransport,
    counted_client,
    new_lock,
)

DESIRED = DesiredRegistration.from_declarations(
    [ScheduleDeclaration(name="daily-digest", cron="0 9 * * 1-5")],
    [EventDeclaration("kudos.posted")],
    "http://127.0.0.1:8999/dailybot",
)


def main(api_url: str, lock_file: str, start_at: float) -> None:
    transport = CountingTransport(delays={"POST /v1/platform/scheduling/": 0.5})
    with counted_client(api_url, transport) as client:
        engine = Reconciler(namespace=NAMESPACE, lock=new_lock(Path(lock_file)))
        tokens = ExchangeTokenBroker(client, ttl_seconds=900).session(ACME, JANE, delivered=None)
        tokens.token()  # fetched before the start line, so both race on the reconcile alone
        time.sleep(max(0.0, start_at - time.time()))
        result = engine.reconcile(DESIRED, PlatformSession(client, tokens, None))
    print(json.dumps({"status": str(result.status), "uuids": dict(result.uuids)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
