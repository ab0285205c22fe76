"""The Chalice app: a table of contents of the entry points. Everything else is in chalicelib."""

from __future__ import annotations

from chalice.app import Chalice, Response

from chalicelib.runtime.chalice_adapter import (
    DELIVERY_CONTENT_TYPES,
    chalice_response,
    current_request,
    incoming_request,
    keep_request,
)
from chalicelib.runtime.composition import container

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
