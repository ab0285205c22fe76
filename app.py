"""The Chalice app and composition root: a table of contents of the entry points.

It loads this deployment's commands, hands their registry to the runtime, and declares every
way in: Dailybot's deliveries, the health check, and `make sync` (`python app.py sync`).
"""

from __future__ import annotations

import sys

from chalice.app import Chalice, Response

from chalicelib.commands import load_commands
from chalicelib.runtime.composition import LazyRuntime
from chalicelib.runtime.intake.chalice_adapter import (
    DELIVERY_CONTENT_TYPES,
    chalice_response,
    current_request,
    incoming_request,
    keep_request,
)

registry = load_commands()
container = LazyRuntime(registry)
"""The runtime of this process (one Lambda container, one `chalice local`)."""

# Chalice's own logger has the app's name, which is also the Powertools service logger's:
# Chalice must leave its level and handlers to observability.
app = Chalice(app_name="dailybot-runtime", configure_logs=False)
app.register_middleware(keep_request, "http")


@app.route("/dailybot", methods=["POST"], content_types=DELIVERY_CONTENT_TYPES)
def dailybot_delivery() -> Response:
    """Every Dailybot delivery: command invocations, event callbacks, scheduled executions."""
    request = incoming_request(current_request(app))
    return chalice_response(container.answer(request))


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness, without touching the platform."""
    return {"status": "ok"}


if __name__ == "__main__":  # pragma: no cover - `make sync` runs `python app.py sync ...`
    # Imported here only: a Lambda container never runs the command line (argparse and the
    # sync module would add to every cold start).
    from chalicelib.runtime.registration import sync

    if sys.argv[1:2] != ["sync"]:
        sys.exit("usage: python app.py sync [--dry-run] [--no-verify]")
    sys.exit(sync.main(sys.argv[2:], declarations=registry))
