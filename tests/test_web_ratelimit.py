"""Per-client rate limits: the token bucket itself, and 429 + Retry-After on uploads, ratings and votes."""

from __future__ import annotations

import pytest

from colorize.web.ratelimit import RateLimiter
from web_support import gray_jpeg, make_client, tiny_colorizer, upload


@pytest.fixture(scope="module")
def colorizers():
    return [tiny_colorizer("tiny-a", seed=1), tiny_colorizer("tiny-b", seed=2)]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_one_per_interval_per_client():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=2, clock=clock)
    assert [limiter.acquire("a") for _ in range(2)] == [None, None]
    assert limiter.acquire("a") == 10  # 6 a minute: the next token in 10 s
    assert limiter.acquire("b") is None  # another client has its own bucket
    clock.now += 10
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 10
    clock.now += 3600  # a full bucket again, and idle buckets are forgotten
    assert limiter.acquire("c") is None and "b" not in limiter._buckets


def test_zero_turns_the_limit_off_and_negative_is_refused():
    limiter = RateLimiter(per_minute=0)
    assert all(limiter.acquire("a") is None for _ in range(1000))
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(per_minute=-1)


def retry_after(response) -> int:
    return int(response.headers["retry-after"])


def test_uploads_ratings_and_votes_get_429_with_retry_after(tmp_path, colorizers):
    # Real time passes while the photos are colorized and refills the buckets a little, so each Retry-After is
    # checked against its interval (60 s / limit) with room for up to 10 s of work, not as an exact number.
    with make_client(tmp_path, colorizers, uploads_per_minute=3, ratings_per_minute=2,
                     votes_per_minute=1) as client:
        first = upload(client)
        pair = client.post("/api/comparisons", json={"upload_id": first["upload_id"]})
        assert pair.status_code == 201  # new pairs count as colorizations: 2 of 3
        assert client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(1), "image/jpeg")}).status_code == 201
        refused = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(2), "image/jpeg")})
        assert refused.status_code == 429 and 10 <= retry_after(refused) <= 20
        assert "too many uploads" in refused.json()["detail"]

        rate = [client.post(f"/api/results/{first['id']}/ratings", json={"stars": 4}) for _ in range(3)]
        assert [r.status_code for r in rate] == [201, 201, 429] and 20 <= retry_after(rate[2]) <= 30

        vote_url = f"/api/comparisons/{pair.json()['id']}/vote"
        assert client.post(vote_url, json={"winner": "left"}).status_code == 201
        again = client.post(vote_url, json={"winner": "left"})
        assert again.status_code == 429 and 50 <= retry_after(again) <= 60
        # Reading is never limited.
        assert all(client.get("/api/results").status_code == 200 for _ in range(20))
