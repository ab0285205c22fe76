"""Injected faults: make the next N platform API calls on a path fail (429/500/503) or stall."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import ApiError, invalid

FAULT_STATUSES = (429, 500, 503)
MAX_DELAY_MS = 60_000


@dataclass
class Fault:
    path: str
    status: int | None
    times: int
    retry_after: int
    delay_ms: int

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
        }

    def error(self) -> ApiError | None:
        if self.status == 429:
            return ApiError(
                429,
                {
                    "detail": f"Request was throttled. Expected available in {self.retry_after}"
                    " seconds.",
                    "code": "throttled",
                },
                {"Retry-After": str(self.retry_after)},
            )
        if self.status is not None:
            return ApiError(
                self.status,
                {"detail": "Injected failure from the emulator.", "code": "injected_fault"},
            )
        return None


def parse_fault(body: dict[str, Any]) -> Fault:
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid("'path' must be a path starting with '/'.")
    status = body.get("status")
    if status is not None and status not in FAULT_STATUSES:
        raise invalid("'status' must be one of 429, 500, 503.")
    numbers = {}
    for name, default, maximum in (
        ("times", 1, 10_000),
        ("retry_after", 1, 86_400),
        ("delay_ms", 0, MAX_DELAY_MS),
    ):
        value = body.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            raise invalid(f"'{name}' must be an integer between 0 and {maximum}.")
        numbers[name] = value
    if status is None and numbers["delay_ms"] == 0:
        raise invalid("Give a 'status', a 'delay_ms', or both.")
    return Fault(path, status, numbers["times"], numbers["retry_after"], numbers["delay_ms"])


class FaultBoard:
    """Pending faults, matched by path prefix, consumed one call at a time."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        # Called after the pending faults changed (the change feed).
        self.on_change: Callable[[], None] = lambda: None

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
        self.on_change()

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.on_change()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def take(self, path: str) -> Fault | None:
        taken = None
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    taken = fault
                    break
        if taken is not None:
            self.on_change()
        return taken

    async def apply(self, path: str) -> None:
        """Stall and/or raise for the next fault matching ``path``, if any."""
        fault = self.take(path)
        if fault is None:
            return
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        error = fault.error()
        if error is not None:
            raise error
