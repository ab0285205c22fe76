"""Per-API-key request budget (a sliding minute on the real monotonic clock).

It uses real time even under the virtual clock: throttling is about how fast a client calls.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from emulator.errors import ApiError

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one call for ``key``; raise 429 with ``Retry-After`` when over budget."""
        if self._limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            calls = self._calls[key]
            while calls and calls[0] <= now - WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= self._limit:
                wait = max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
                raise ApiError(
                    429,
                    {
                        "detail": f"Request was throttled. Expected available in {wait} seconds.",
                        "code": "throttled",
                    },
                    {"Retry-After": str(wait)},
                )
            calls.append(now)
