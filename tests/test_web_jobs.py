"""The job queue's Retry-After comes from the queued work (megapixels at the measured speed), not a job count."""

from __future__ import annotations

import threading
import time

import pytest

from colorize.web.jobs import JobQueue, QueueFull
from colorize.web.processing import megapixels
from web_support import gray_jpeg


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_retry_after_scales_with_the_queued_megapixels():
    jobs = JobQueue(capacity=6, workers=1)
    jobs.start()
    release = threading.Event()
    try:
        # Teach the queue its speed: 0.2 s for a 1-megapixel job, i.e. 0.2 s per megapixel.
        jobs._seconds_per_cost = 0.2
        futures = [jobs.submit_future(release.wait, 60, cost=39.0)]  # running: a 39 MP photo
        wait_until(lambda: jobs.running == 1)
        futures += [jobs.submit_future(release.wait, 60, cost=39.0) for _ in range(5)]  # five more queued
        small = JobQueue(capacity=6, workers=1)
        small._seconds_per_cost = 0.2
        small._queued_cost = 6 * 0.1  # six thumbnails
        assert small.retry_after() == 1
        # 6 x 39 MP x 0.2 s/MP = 46.8 s of work for one worker, not "2 s" for six jobs.
        assert jobs.retry_after() == 47
        futures += [jobs.submit_future(release.wait, 60, cost=39.0)]
        with pytest.raises(QueueFull) as refused:
            jobs.submit_future(release.wait, 60, cost=1.0)
        assert refused.value.retry_after == 55  # 7 x 39 x 0.2 = 54.6
    finally:
        release.set()
        jobs.stop()
    assert jobs.stats()["queued_cost"] == 0


def test_megapixels_reads_the_header_only():
    assert megapixels(gray_jpeg(0, (500, 1000))) == pytest.approx(0.5)
    assert megapixels(b"not an image") == 1.0
