"""The arena is fair and models are known by their weights: blind pair bytes, owner-only single votes, one
colorization per (upload, model) under concurrent requests, weights hashes on every row, the leaderboard's
intervals."""

from __future__ import annotations

import asyncio
import threading

import httpx
from sqlalchemy import select

from colorize.web.db import Rating, Result, Vote
from colorize.web.identity import weights_sha256
from web_support import make_client, second_browser, tiny_colorizer, upload


def labelled_images(client) -> set[bytes]:
    """Every image the API serves next to a model name: each result's images and previews."""
    images = set()
    for result in client.get("/api/results").json():
        for url in result["urls"].values():
            images.add(client.get(url).content)
    return images


def test_no_pair_image_is_byte_identical_to_a_labelled_image(client):
    result = upload(client)
    upload(client, seed=2)  # more labelled images to compare against
    labelled = labelled_images(client)
    for _ in range(3):
        pair = client.post("/api/comparisons", json={"upload_id": result["upload_id"]}).json()
        for side in ("left", "right"):
            response = client.get(pair[side])
            assert response.status_code == 200
            assert response.content not in labelled
            assert "tiny" not in str(response.headers).lower()
        assert "tiny" not in str(pair)
    # The comparison's own results (source "comparison") are labelled too once fetched by id: still no match.
    services = client.app.state.services
    with services.db.session() as session:
        extra = session.scalars(select(Result).where(Result.source == "comparison")).all()
        for row in extra:
            assert services.storage.read_bytes(row.preview_file) not in {client.get(pair["left"]).content,
                                                                         client.get(pair["right"]).content}


def test_only_the_owner_votes_and_only_once(client):
    result = upload(client)
    pair = client.post("/api/comparisons", json={"upload_id": result["upload_id"]}).json()
    with second_browser(client) as stranger:
        assert stranger.get(pair["left"]).status_code == 404
        assert stranger.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"}).status_code == 404
    assert client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"}).status_code == 201
    assert client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "right"}).status_code == 409
    assert client.get("/api/leaderboard").json()["total_votes"] == 1


class CountingColorizer:
    """Counts its calls and waits for `release`, so many requests can pile up on one colorization."""

    def __init__(self, inner):
        self.name = inner.name
        self.model = inner.model
        self.inner = inner
        self.calls = 0
        self.release = threading.Event()

    def colorize(self, image):
        self.calls += 1
        assert self.release.wait(60)
        return self.inner.colorize(image)


def test_concurrent_pairs_colorize_an_upload_once_per_model(tmp_path, colorizers):
    second = CountingColorizer(colorizers[1])
    second.release.set()  # the upload itself runs on the first model
    with make_client(tmp_path, [colorizers[0], second]) as client:
        result = upload(client)
        second.release.clear()
        app, cookies, headers = client.app, dict(client.cookies), dict(client.headers)

        async def eight_at_once():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", cookies=cookies,
                                         headers=headers) as ac:
                requests = [ac.post("/api/comparisons", json={"upload_id": result["upload_id"]})
                            for _ in range(8)]
                releaser = asyncio.get_running_loop().call_later(1.0, second.release.set)
                responses = await asyncio.gather(*requests)
                releaser.cancel()
                return responses

        responses = asyncio.run(eight_at_once())
        assert [r.status_code for r in responses] == [201] * 8
        assert second.calls == 1
        services = client.app.state.services
        with services.db.session() as session:
            hashes = session.scalars(select(Result.model_hash).where(Result.upload_id == result["upload_id"])).all()
        assert sorted(hashes) == sorted(weights_sha256(c) for c in colorizers)


def test_weights_hash_is_recorded_and_the_leaderboard_groups_by_it(tmp_path, colorizers):
    a, b = colorizers
    renamed_b = tiny_colorizer("tiny-a", seed=2)  # b's weights under a's name
    assert weights_sha256(renamed_b) == weights_sha256(b) != weights_sha256(a)
    storage = tmp_path
    with make_client(storage, [a, b]) as client:
        result = upload(client)
        assert result["model_hash"] == weights_sha256(a)
        client.post(f"/api/results/{result['id']}/ratings", json={"stars": 5})
        for _ in range(4):
            pair = client.post("/api/comparisons", json={"upload_id": result["upload_id"]}).json()
            revealed = client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"}).json()
        assert revealed["left_model"] in ("tiny-a", "tiny-b")
        cookies = dict(client.cookies)
        services = client.app.state.services
        with services.db.session() as session:
            assert session.scalar(select(Rating.model_hash)) == weights_sha256(a)
            votes = session.scalars(select(Vote)).all()
            assert {(v.left_model_hash, v.right_model_hash) for v in votes} <= {
                (weights_sha256(a), weights_sha256(b)), (weights_sha256(b), weights_sha256(a))}

    # A new model takes over the name "tiny-a": its ratings and votes start from nothing.
    replacement = tiny_colorizer("tiny-a", seed=3)
    with make_client(storage, [replacement, b]) as client:
        client.cookies.update(cookies)
        board = client.get("/api/leaderboard").json()
        by_hash = {m["model_hash"]: m for m in board["models"]}
        assert by_hash[weights_sha256(replacement)]["votes"] == 0
        assert by_hash[weights_sha256(a)]["votes"] == 4 and by_hash[weights_sha256(a)]["model"] == "tiny-a"
        assert board["total_votes"] == 4
        models = {m["model_hash"]: m for m in client.get("/api/models").json()}
        assert models[weights_sha256(replacement)]["ratings"]["count"] == 0
        assert models[weights_sha256(a)]["ratings"]["count"] == 1 and not models[weights_sha256(a)]["served"]


def test_leaderboard_has_vote_counts_and_intervals_that_narrow_with_votes():
    from colorize.web.ranking import leaderboard

    few = leaderboard(["a", "b"], [("a", "b", "left")] * 3 + [("a", "b", "right")])
    many = leaderboard(["a", "b"], ([("a", "b", "left")] * 3 + [("a", "b", "right")]) * 25)
    for board in (few, many):
        top = board[0]
        assert top.model == "a" and top.ci_low <= top.score <= top.ci_high
    width = {name: board[0].ci_high - board[0].ci_low for name, board in (("few", few), ("many", many))}
    assert width["many"] < width["few"] / 2
    unvoted = leaderboard(["a", "b"], [])[0]
    assert unvoted.ci_low < 1000.0 == unvoted.score < unvoted.ci_high  # no votes: the interval is wide, not zero
    assert unvoted.ci_high - unvoted.ci_low > width["few"]
