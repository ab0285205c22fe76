"""Tells the change feed what changed, as the small views the playground shows.

One method per kind of change. Each builds its view only while a stream is open (building an
item costs a few queries); otherwise the feed just notes that a change went unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.change_feed import ChangeFeed
from emulator.database import Database
from emulator.inspector import call_with_owner
from emulator.runs import first_run_with, run_row
from emulator.storage_entries import entry_view
from emulator.timeline import item_for_message, item_for_occurrence, item_for_run, item_owning


class Announcer:
    def __init__(self, database: Database, feed: ChangeFeed) -> None:
        self._database = database
        self._feed = feed

    def _publish(self, topic: str, build: Callable[[], Any]) -> None:
        if not self._feed.listening:
            self._feed.skip()
            return
        value = build()
        if value is not None:
            self._feed.publish(topic, value)

    def run(self, delivery_id: str) -> None:
        """A delivery started or gained an attempt: its item, and the follow-ups it claims."""
        self._publish("item", lambda: item_for_run(self._database, delivery_id))
        self._publish("removed", lambda: self._claimed(delivery_id))

    def _claimed(self, delivery_id: str) -> dict[str, Any] | None:
        row = run_row(self._database, delivery_id)
        correlation = None if row is None else row["correlation_id"]
        if correlation is None:
            return None
        first = first_run_with(self._database, correlation)
        if first is None or first["delivery_id"] != delivery_id:
            return None
        rows = self._database.all(
            "SELECT id FROM messages WHERE correlation_id = ?", (correlation,)
        )
        return {"ids": [f"message:{r['id']}" for r in rows]} if rows else None

    def message(self, message_id: int) -> None:
        """A follow-up was sent: the item of its delivery, or an item of its own."""
        self._publish("item", lambda: self._message_item(message_id))

    def _message_item(self, message_id: int) -> dict[str, Any] | None:
        row = self._database.one("SELECT correlation_id FROM messages WHERE id = ?", (message_id,))
        if row is None:
            return None
        owner = item_owning(self._database, row["correlation_id"])
        return owner if owner is not None else item_for_message(self._database, message_id)

    def call(self, call_id: int, correlation_id: str | None) -> None:
        """A platform call was made: its inspector row, and its delivery's item."""
        self._publish("call", lambda: self._call_row(call_id))
        if correlation_id is not None:
            self._publish("item", lambda: item_owning(self._database, correlation_id))

    def _call_row(self, call_id: int) -> dict[str, Any] | None:
        row = self._database.one("SELECT * FROM api_calls WHERE id = ?", (call_id,))
        return None if row is None else call_with_owner(self._database, row)

    def occurrence(self, occurrence_id: int) -> None:
        self._publish("item", lambda: item_for_occurrence(self._database, occurrence_id))

    def storage(self, scope: str, key: str) -> None:
        self._publish("storage", lambda: self._storage_change(scope, key))

    def _storage_change(self, scope: str, key: str) -> dict[str, Any]:
        row = self._database.one(
            "SELECT scope, key, value FROM storage WHERE scope = ? AND key = ?", (scope, key)
        )
        if row is None:
            return {"op": "delete", "entry": entry_view(scope, key, None)}
        return {"op": "set", "entry": entry_view(scope, key, row["value"])}

    def value(self, topic: str, value: Any) -> None:
        """A change whose view the caller already has (a schedule, a hook, the clock...)."""
        self._publish(topic, lambda: value)

    def views(self, topic: str, build: Callable[[], Any]) -> None:
        """A change whose view is built only if someone listens."""
        self._publish(topic, build)
