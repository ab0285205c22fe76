"""The floor: a bare Chalice route that answers a constant, with nothing else in the process."""

from __future__ import annotations

from chalice.app import Chalice

app = Chalice(app_name="bare")


@app.route("/dailybot", methods=["POST"])
def constant() -> dict[str, str]:
    return {"message": "pong"}
