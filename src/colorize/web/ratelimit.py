"""Per-client rate limits: a token bucket per (client address, action), kept in memory.

A bucket holds up to `burst` tokens (default: a minute's worth) and refills at `per_minute` tokens a minute; each request takes one. An empty
bucket answers how many seconds until the next token, which the API sends as Retry-After with a 429. Buckets that
have refilled completely carry no information and are dropped, so memory stays bounded by the active clients.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable


class RateLimiter:
    def __init__(self, per_minute: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic):
        if per_minute < 0:
            raise ValueError(f"per_minute must be >= 0 (0 turns the limit off), got {per_minute}")
        self.per_minute = per_minute
        self.burst = max(1, burst if burst is not None else math.ceil(per_minute))
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time of last update)
        self._lock = threading.Lock()
        self._last_prune = clock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self, key: str) -> int | None:
        """Take a token for `key`: None when allowed, else the whole seconds to wait before the next one."""
        if not self.enabled:
            return None
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                allowed = True
            else:
                self._buckets[key] = (tokens, now)
                allowed = False
            if now - self._last_prune > 60:
                self._prune(now, rate)
        return None if allowed else max(1, math.ceil((1.0 - tokens) / rate))

    def _prune(self, now: float, rate: float) -> None:
        full_after = self.burst / rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._last_prune = now
