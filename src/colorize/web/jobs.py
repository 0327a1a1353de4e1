"""A bounded queue of colorization jobs run by worker threads, off the event loop.

The event loop only enqueues and awaits; decoding, inference and encoding happen in `workers` threads. At most
`capacity` jobs wait: beyond that `submit` raises `QueueFull` at once (the API answers 503 with Retry-After)
instead of letting requests pile up in memory or hang.

Retry-After comes from the work actually queued: each job has a cost (its megapixels), the workers measure the
seconds per unit of cost as they go, and a refused client is told how long the queued and running cost will take,
not a count of jobs (six 39-megapixel photos are not six thumbnails).
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

_STOP = object()


class QueueFull(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy; try again in {retry_after} s")
        self.retry_after = retry_after


class JobQueue:
    def __init__(self, capacity: int, workers: int = 1):
        if capacity < 1 or workers < 1:
            raise ValueError("capacity and workers must be at least 1")
        self.capacity = capacity
        self.workers = workers
        self._jobs: queue.Queue = queue.Queue(maxsize=capacity)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running = 0
        self._done = 0
        self._queued_cost = 0.0
        self._running_cost = 0.0
        # Exponential moving averages of a job's duration and of its seconds per unit of cost, for Retry-After.
        self._mean_seconds = 1.0
        self._seconds_per_cost = 1.0

    def start(self) -> None:
        if self._threads:
            return
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"colorize-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then end the threads."""
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    @property
    def waiting(self) -> int:
        return self._jobs.qsize()

    @property
    def running(self) -> int:
        return self._running

    def full(self) -> bool:
        return self._jobs.full()

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queued and running cost at the measured speed, divided among
        the workers (at least 1 s, at most 10 minutes)."""
        with self._lock:
            ahead = self._queued_cost + self._running_cost
        return max(1, min(600, math.ceil(ahead * self._seconds_per_cost / self.workers)))

    def submit_future(self, fn: Callable[..., Any], *args: Any, cost: float = 1.0) -> Future:
        if not self._threads:
            raise RuntimeError("the job queue is not started")
        future: Future = Future()
        with self._lock:
            self._queued_cost += cost
        try:
            self._jobs.put_nowait((future, fn, args, cost))
        except queue.Full:
            with self._lock:
                self._queued_cost -= cost
            raise QueueFull(self.retry_after()) from None
        return future

    async def run(self, fn: Callable[..., Any], *args: Any, cost: float = 1.0) -> Any:
        """Queue `fn(*args)` and await its result without blocking the event loop (QueueFull when full). `cost`
        is the job's size (megapixels), for Retry-After."""
        return await asyncio.wrap_future(self.submit_future(fn, *args, cost=cost))

    def stats(self) -> dict:
        return {
            "waiting": self.waiting,
            "running": self._running,
            "capacity": self.capacity,
            "workers": self.workers,
            "completed": self._done,
            "mean_seconds": round(self._mean_seconds, 3),
            "queued_cost": round(self._queued_cost + self._running_cost, 3),
            "seconds_per_cost": round(self._seconds_per_cost, 4),
        }

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            future, fn, args, cost = item
            with self._lock:
                self._queued_cost -= cost
            # A client that went away cancelled its future: skip the work.
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running += 1
                self._running_cost += cost
            start = time.perf_counter()
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                elapsed = time.perf_counter() - start
                with self._lock:
                    self._running -= 1
                    self._running_cost -= cost
                    self._done += 1
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed
                    if cost > 0:
                        self._seconds_per_cost = 0.8 * self._seconds_per_cost + 0.2 * elapsed / cost
