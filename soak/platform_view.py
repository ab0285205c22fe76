"""The emulator as the harness sees it: Dailybot's control API and the platform's own records.

Side effects are counted where they land: the command's activity log and storage, read over
the platform API with an exchange token fetched the way a command fetches one, and the
emulator's record of every delivery attempt.
"""

from __future__ import annotations

from typing import Any

import httpx

from soak.stack import World


class PlatformView:
    """Control and read access to one emulator."""

    def __init__(self, base_url: str, world: World) -> None:
        self._world = world
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=256),
            trust_env=False,
        )
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    # -- Dailybot's side -------------------------------------------------------------------

    def invoke(self, query: str, intent: str | None = None) -> dict[str, Any]:
        """A user types the command: `{"status_code", "reply", "elapsed_ms"[, "error"]}`."""
        response = self._http.post(
            "/_emulator/invoke",
            json={
                "intent": intent or self._world.intent,
                "query": query,
                "user_uuid": self._world.user_uuid,
            },
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def add_fault(self, fault: dict[str, Any]) -> None:
        self._http.post("/_emulator/faults", json=fault).raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        response = self._http.get("/_emulator/faults")
        response.raise_for_status()
        faults: list[dict[str, Any]] = response.json()
        return faults

    def clear_faults(self) -> None:
        self._http.delete("/_emulator/faults").raise_for_status()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every outbound attempt the emulator made (`delivery_id`, `attempt`, `status`, ...)."""
        response = self._http.get("/_emulator/deliveries")
        response.raise_for_status()
        attempts: list[dict[str, Any]] = response.json()
        return attempts

    def messages(self) -> list[str]:
        """The text of every message sent through the platform (jobs' follow-ups among them)."""
        response = self._http.get("/_emulator/messages")
        response.raise_for_status()
        return [str(m.get("message", "")) for m in response.json()]

    # -- the platform's records ------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"X-API-KEY": self._world.api_key}
        if self._token is None:
            response = self._http.post(
                "/v1/auth/fetch-command-exchange-token/",
                json={"user_uuid": self._world.user_uuid},
                headers=headers,
            )
            response.raise_for_status()
            self._token = str(response.json()["token"])
        headers["X-EXCHANGE-TOKEN"] = self._token
        return headers

    @property
    def token(self) -> str | None:
        """The exchange token the harness itself used (audited like every other)."""
        return self._token

    def usage_records(self) -> int:
        """The runtime's `usage/triggered/<intent>` records of the command: one per run."""
        response = self._http.get("/v1/platform/activity/", headers=self._headers())
        response.raise_for_status()
        return sum(
            1
            for record in response.json()
            if (record["category"], record["action"], record["label"])
            == ("usage", "triggered", self._world.intent)
        )

    def stored(self, key: str) -> Any:
        """The value the command's storage holds under `key` (None when nothing is)."""
        response = self._http.post(
            "/v1/platform/storage/",
            json={"op": "get", "params": {"key": key}},
            headers=self._headers(),
        )
        response.raise_for_status()
        return response.json().get(key)
