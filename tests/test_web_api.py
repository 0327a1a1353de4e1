"""The web API through FastAPI's test client: every endpoint, every bad input, the bounded queue."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize.web import ServeConfig, create_app
from colorize.web.limits import UploadLimitMiddleware
from colorize.web.owner import owner_of
from conftest import make_photo
from conftest import png_bomb_bytes
from web_support import encode, gray_jpeg, make_client

STORED_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}-[a-z]+\.[a-z]{3,4}$")



def upload(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg", **form):
    return client.post("/api/results", files={"file": (name, data, content_type)}, data=form)


def assert_still_serving(client):
    assert client.get("/api/health").json()["status"] == "ok"
    response = upload(client, gray_jpeg(99))
    assert response.status_code == 201, response.text


# --- health, models, documentation ----------------------------------------------------------------------------
def test_health_reports_models_queue_and_limits(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["models"] == ["tiny-a", "tiny-b"]
    assert body["max_upload_mb"] == 1.0
    assert body["queue"]["capacity"] == 32 and body["queue"]["workers"] == 2


def test_openapi_documents_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        ("/api/health", "get"), ("/api/models", "get"), ("/api/results", "post"), ("/api/results", "get"),
        ("/api/results/{result_id}", "get"), ("/api/results/{result_id}/original", "get"),
        ("/api/results/{result_id}/image", "get"), ("/api/results/{result_id}/download", "get"),
        ("/api/results/{result_id}/ratings", "post"), ("/api/results/{result_id}/ratings", "get"),
        ("/api/results/{result_id}/recolorize", "post"),
        ("/api/comparisons", "post"), ("/api/comparisons/{comparison_id}/vote", "post"),
        ("/api/comparisons/{comparison_id}/{side}", "get"), ("/api/leaderboard", "get"),
    }
    assert expected <= {(p, m) for p, ops in paths.items() for m in ops}
    upload_op = paths["/api/results"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"413", "422", "503"} <= set(upload_op["responses"])


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'type="module"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in [("app.js", "javascript"), ("api.js", "javascript"), ("slider.js", "javascript"),
                       ("hints.js", "javascript"), ("dom.js", "javascript"), ("leaderboard.js", "javascript"),
                       ("style.css", "css")]:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


# --- upload, images, download ---------------------------------------------------------------------------------
def test_upload_colorizes_and_serves_every_image(client):
    data = gray_jpeg(0, (48, 64))
    response = upload(client, data, name="Grandma 1952.jpg")
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["model"] == "tiny-a" and result["filename"] == "Grandma 1952.jpg"
    assert (result["width"], result["height"], result["format"]) == (64, 48, "JPEG")
    assert result["rating"]["count"] == 0

    original = client.get(result["urls"]["original"])
    assert original.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(original.content)).size == (64, 48)
    assert original.headers["x-content-type-options"] == "nosniff"
    assert original.headers["cache-control"].startswith("private")
    image = Image.open(io.BytesIO(client.get(result["urls"]["image"]).content))
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (64, 48)
    for key in ("original_preview", "image_preview"):
        preview = Image.open(io.BytesIO(client.get(result["urls"][key]).content))
        assert preview.format == "JPEG" and preview.size == (64, 48)

    download = client.get(result["urls"]["download"])
    assert download.headers["content-disposition"] == ("attachment; filename=\"Grandma 1952-colorized.png\"; "
                                                       "filename*=UTF-8''Grandma%201952-colorized.png")
    assert download.content == client.get(result["urls"]["image"]).content
    assert client.get(f"/api/results/{result['id']}").json()["id"] == result["id"]


def test_upload_with_alpha_keeps_transparency(client):
    rgba = np.dstack([make_photo(3, (40, 40)), np.full((40, 40), 128, np.uint8)])
    result = upload(client, encode(rgba, "PNG"), name="logo.png", content_type="image/png").json()
    image = Image.open(io.BytesIO(client.get(result["urls"]["image"]).content))
    assert image.mode == "RGBA"
    assert np.asarray(image)[..., 3].max() == 128


@pytest.mark.parametrize("fmt,mode", [("PNG", "I;16"), ("JPEG", "CMYK"), ("GIF", "P"), ("TIFF", "RGB"),
                                      ("WEBP", "RGB"), ("BMP", "L")])
def test_every_accepted_format_and_mode(client, fmt, mode):
    photo = Image.fromarray(make_photo(5, (32, 40)))
    if mode == "I;16":
        photo = Image.fromarray((np.asarray(photo.convert("L")).astype(np.uint16) * 257))
    else:
        photo = photo.convert(mode)
    buf = io.BytesIO()
    photo.save(buf, format=fmt)
    response = upload(client, buf.getvalue(), name="scan.bin", content_type="application/octet-stream")
    assert response.status_code == 201, response.text
    assert response.json()["format"] == fmt and (response.json()["width"], response.json()["height"]) == (40, 32)


def test_history_lists_uploads_newest_first_with_their_ratings(client):
    ids = [upload(client, gray_jpeg(i), name=f"p{i}.jpg").json()["id"] for i in range(3)]
    client.post(f"/api/results/{ids[1]}/ratings", json={"stars": 2, "comment": "too green"})
    history = client.get("/api/results").json()
    assert [r["id"] for r in history] == ids[::-1]
    rated = history[1]
    assert rated["rating"] == {"count": 1, "mean": 2.0, "last_stars": 2, "last_comment": "too green"}
    assert [r["id"] for r in client.get("/api/results?limit=1&offset=1").json()] == [ids[1]]
    assert client.get("/api/results?limit=0").status_code == 422


def test_unknown_model_and_missing_file_are_clear_errors(client):
    response = upload(client, gray_jpeg(), model="nope")
    assert response.status_code == 404 and "unknown model 'nope'" in response.json()["detail"]
    assert upload(client, gray_jpeg(), model="tiny-b").json()["model"] == "tiny-b"
    response = client.post("/api/results", data={"model": "tiny-a"})
    assert response.status_code == 422 and response.json()["detail"] == "file: Field required"


# --- ratings ---------------------------------------------------------------------------------------------------
def test_ratings_are_stored_listed_and_validated(client):
    result_id = upload(client, gray_jpeg()).json()["id"]
    first = client.post(f"/api/results/{result_id}/ratings", json={"stars": 5, "comment": " lovely "})
    assert first.status_code == 201 and first.json()["comment"] == "lovely"
    client.post(f"/api/results/{result_id}/ratings", json={"stars": 3})
    listed = client.get(f"/api/results/{result_id}/ratings").json()
    assert [(r["stars"], r["comment"]) for r in listed] == [(5, "lovely"), (3, "")]
    assert listed[0]["created_at"].endswith(("Z", "+00:00"))

    for body, message in [({"stars": 0}, "greater than or equal to 1"), ({"stars": 6}, "less than or equal to 5"),
                          ({"stars": 4, "comment": "x" * 2001}, "at most 2000"), ({}, "stars: Field required")]:
        response = client.post(f"/api/results/{result_id}/ratings", json=body)
        assert response.status_code == 422 and message in response.json()["detail"]
    # Control characters (NUL breaks PostgreSQL) are dropped; line breaks and tabs stay.
    cleaned = client.post(f"/api/results/{result_id}/ratings", json={"stars": 4, "comment": "a\x00b\x07\nc\td"})
    assert cleaned.status_code == 201 and cleaned.json()["comment"] == "ab\nc\td"
    # Bodies of the small JSON routes are capped before anything reads them into memory.
    huge = client.post(f"/api/results/{result_id}/ratings", content=b'{"stars": 3, "comment": "' + b"x" * 2**20
                       + b'"}', headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "64 KB" in huge.json()["detail"]
    missing = "0" * 32
    assert client.post(f"/api/results/{missing}/ratings", json={"stars": 3}).status_code == 404
    assert client.get(f"/api/results/{missing}/ratings").status_code == 404
    assert client.get(f"/api/results/{missing}").status_code == 404
    assert client.get("/api/results/..%2F..%2Fetc/image").status_code in (404, 422)


def test_model_statistics_aggregate_ratings_per_model(client):
    a = upload(client, gray_jpeg(1)).json()["id"]
    b = upload(client, gray_jpeg(2), model="tiny-b").json()["id"]
    for result_id, stars in [(a, 5), (a, 4), (b, 1)]:
        client.post(f"/api/results/{result_id}/ratings", json={"stars": stars})
    stats = {m["name"]: m for m in client.get("/api/models").json()}
    assert stats["tiny-a"]["default"] and not stats["tiny-b"]["default"]
    assert stats["tiny-a"]["ratings"]["count"] == 2 and stats["tiny-a"]["ratings"]["mean"] == 4.5
    assert stats["tiny-a"]["ratings"]["histogram"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert stats["tiny-b"]["ratings"]["count"] == 1 and stats["tiny-b"]["ratings"]["mean"] == 1.0


# --- bad inputs ------------------------------------------------------------------------------------------------
def _truncated_jpeg() -> bytes:
    data = encode(make_photo(7, (64, 64)), "JPEG", quality=95)
    return data[: len(data) // 2]


BAD_INPUTS = {
    "zero bytes": (b"", "x.jpg", 400, "empty"),
    "truncated jpeg": (_truncated_jpeg(), "x.jpg", 422, "truncated"),
    "text named png": (b"hello, I am not an image\n" * 10, "x.png", 422, "not a recognised image"),
    "40000x40000 png bomb": (png_bomb_bytes(), "bomb.png", 422, "megapixels"),
    "oversize upload": (b"\xff\xd8" + b"\x00" * (1024 * 1024 + 10), "big.jpg", 413, "too large"),
    "path-like name, not an image": (b"root:x:0:0\n", "../../etc/passwd.png", 422, "not a recognised image"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(client, tmp_path, case):
    data, name, status, message = BAD_INPUTS[case]
    response = upload(client, data, name=name, content_type="image/png")
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    stored = [p for p in (tmp_path / "data" / "images").rglob("*") if p.is_file()]
    assert stored == []  # nothing of a refused upload stays on disk
    assert_still_serving(client)


def test_path_like_file_names_never_become_paths(client, tmp_path):
    for name in ["../../etc/passwd.png", "..\\..\\windows\\win.ini.jpg", "/abs/path.jpg", "a\x00b\n.jpg"]:
        response = upload(client, gray_jpeg(), name=name)
        assert response.status_code == 201, response.text
        shown = response.json()["filename"]
        assert "/" not in shown and "\\" not in shown and "\x00" not in shown and "\n" not in shown
        download = client.get(response.json()["urls"]["download"]).headers["content-disposition"]
        assert re.fullmatch(r'attachment; filename="[^"/\\]+-colorized\.png"; filename\*=UTF-8\'\'[A-Za-z0-9%._~-]+',
                            download), download
    root = tmp_path / "data"
    files = [p.relative_to(root / "images").as_posix() for p in (root / "images").rglob("*") if p.is_file()]
    assert files and all(STORED_NAME.match(f) for f in files)
    everything = {p.name for p in tmp_path.rglob("*")}
    assert not {"passwd.png", "passwd", "win.ini.jpg", "path.jpg"} & everything
    assert not Path("/abs").exists()


def test_chunked_oversize_upload_is_cut_off(client):
    def body():
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n"
        yield boundary
        for _ in range(40):  # 40 x 64 KB = 2.5 MB against a 1 MB limit
            yield b"\x00" * 65536

    response = client.post("/api/results", content=body(),
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413 and "too large" in response.json()["detail"]
    assert_still_serving(client)


def test_size_limit_is_enforced_while_streaming():
    """The middleware stops reading a body without Content-Length as soon as it passes the limit."""
    chunks_read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": chunks_read < 1000}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        while (await receive())["type"] == "http.request":
            pass
        await send({"type": "http.response.start", "status": 400, "headers": []})

    middleware = UploadLimitMiddleware(app, max_body_bytes=256 * 1024, paths=("/upload",), drain_bytes=512 * 1024)
    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": []}
    asyncio.run(middleware(scope, receive, send))
    # 4 chunks fit, the 5th crosses the limit; then 9 more (just over drain_bytes) are drained so the client
    # hears the 413 rather than a reset: the other 986 are never read.
    assert chunks_read == 5 + 9
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]


# --- the bounded queue -----------------------------------------------------------------------------------------
class BlockingColorizer:
    """Waits for `release` before answering, so a test can fill the queue."""

    def __init__(self, inner):
        self.name = inner.name
        self.inner = inner
        self.release = threading.Event()

    def colorize(self, image):
        assert self.release.wait(60), "test never released the colorizer"
        return self.inner.colorize(image)


def test_full_queue_answers_503_with_retry_after_and_stays_responsive(tmp_path, colorizers):
    blocking = BlockingColorizer(colorizers[0])
    with make_client(tmp_path, [blocking], queue_size=1, workers=1) as client:
        services = client.app.state.services
        responses = []
        threads = [threading.Thread(target=lambda i=i: responses.append(upload(client, gray_jpeg(i))))
                   for i in range(2)]

        def wait_for(stat: str, value: int) -> None:
            deadline = time.monotonic() + 30
            while services.jobs.stats()[stat] != value:
                assert time.monotonic() < deadline, services.jobs.stats()
                time.sleep(0.01)

        threads[0].start()
        wait_for("running", 1)  # the first job is in the worker, stuck
        threads[1].start()
        wait_for("waiting", 1)  # the second fills the one queue slot

        busy = upload(client, gray_jpeg(5))
        assert busy.status_code == 503
        assert int(busy.headers["retry-after"]) >= 1
        assert "busy" in busy.json()["detail"]
        # The event loop is free while the worker is stuck: other endpoints answer at once.
        assert client.get("/api/health").json()["queue"]["waiting"] == 1
        assert client.get("/api/results").status_code == 200

        blocking.release.set()
        for thread in threads:
            thread.join(60)
        assert sorted(r.status_code for r in responses) == [201, 201]


# --- blind comparisons -----------------------------------------------------------------------------------------
def test_comparison_vote_and_leaderboard(client):
    result = upload(client, gray_jpeg(11)).json()
    pair = client.post("/api/comparisons", json={"upload_id": result["upload_id"]})
    assert pair.status_code == 201, pair.text
    pair = pair.json()
    assert pair["upload_id"] == result["upload_id"]
    for side in ("left", "right", "original"):
        image = client.get(pair[side])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert "tiny" not in str(pair)  # blind: nothing in the pair names a model

    # The upload's own colorization is reused; only the other model ran.
    services = client.app.state.services
    from colorize.web.db import Result
    from sqlalchemy import func, select

    with services.db.session() as session:
        assert session.scalar(select(func.count()).where(Result.upload_id == result["upload_id"])) == 2

    vote = client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "right"})
    assert vote.status_code == 201
    revealed = vote.json()
    assert {revealed["left_model"], revealed["right_model"]} == {"tiny-a", "tiny-b"}
    again = client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    bad = client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "both"})
    assert bad.status_code == 422

    board = client.get("/api/leaderboard").json()
    assert board["method"] == "bradley-terry" and board["total_votes"] == 1
    assert board["models"][0]["model"] == revealed["right_model"]
    assert [(m["wins"], m["losses"], m["votes"]) for m in board["models"]] == [(1, 0, 1), (0, 1, 1)]
    # History shows only the uploads' own results, not the extra colorizations made for the pair.
    assert [r["id"] for r in client.get("/api/results").json()] == [result["id"]]


def test_comparison_orders_are_random_and_pick_recent_uploads(client):
    upload(client, gray_jpeg(12))
    lefts = set()
    for _ in range(12):
        pair = client.post("/api/comparisons", json={}).json()
        lefts.add(client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "tie"}).json()["left_model"])
    assert lefts == {"tiny-a", "tiny-b"}  # 12 draws all on one side would happen with p = 2 * 0.5**12
    board = client.get("/api/leaderboard").json()
    assert all(m["ties"] == 12 for m in board["models"])


def test_comparison_errors(tmp_path, colorizers, client):
    assert client.post("/api/comparisons", json={}).status_code == 404  # nothing uploaded yet
    assert client.post("/api/comparisons", json={"upload_id": "f" * 32}).status_code == 404
    assert client.post("/api/comparisons", json={"upload_id": "../x"}).status_code == 422
    assert client.get(f"/api/comparisons/{'0' * 32}/left").status_code == 404
    assert client.get(f"/api/comparisons/{'0' * 32}/middle").status_code == 422
    assert client.post(f"/api/comparisons/{'0' * 32}/vote", json={"winner": "left"}).status_code == 404
    with make_client(tmp_path / "single", colorizers[:1]) as single:
        upload(single, gray_jpeg())
        response = single.post("/api/comparisons", json={})
        assert response.status_code == 409 and "two models" in response.json()["detail"]
    with make_client(tmp_path / "strict", colorizers) as strict:
        result = upload(strict, gray_jpeg()).json()
        services = strict.app.state.services
        services.config.max_pixels = 10  # lowered after the upload: the second model cannot read it any more
        response = strict.post("/api/comparisons", json={"upload_id": result["upload_id"]})
        assert response.status_code == 409 and "cannot be colorized again" in response.json()["detail"]
        owner = owner_of(strict.cookies["colorize_owner"])
        services.storage.path(services.result(result["id"], owner).image_file).unlink()
        missing = strict.get(result["urls"]["image"])
        assert missing.status_code == 404 and "missing" in missing.json()["detail"]


def test_duplicate_model_names_are_refused(tmp_path, colorizers):
    with pytest.raises(ValueError, match="two models are called 'tiny-a'"):
        create_app(ServeConfig(storage=str(tmp_path)), colorizers=[colorizers[0], colorizers[0]])


class BrokenColorizer:
    name = "broken"

    def colorize(self, image):
        raise RuntimeError("out of memory")


def test_unexpected_failure_is_a_json_500_and_leaves_nothing_behind(tmp_path):
    with make_client(tmp_path, [BrokenColorizer()], raise_server_exceptions=False) as client:
        response = upload(client, gray_jpeg())
        assert response.status_code == 500
        assert "went wrong" in response.json()["detail"]
        assert not [p for p in (tmp_path / "data" / "images").rglob("*") if p.is_file()]
        assert client.get("/api/health").status_code == 200


def test_stars_must_be_a_json_integer(client):
    result_id = upload(client, gray_jpeg()).json()["id"]
    for stars in (True, "5", 4.0):
        response = client.post(f"/api/results/{result_id}/ratings", json={"stars": stars})
        assert response.status_code == 422, stars
    assert client.get(f"/api/results/{result_id}/ratings").json() == []


def test_docs_work_offline_from_packaged_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") for a in assets)  # nothing from a CDN
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").text


def test_page_links_the_api_docs_and_the_model_card_with_its_data_terms(client):
    page = client.get("/").text
    assert 'href="/docs"' in page and 'href="/model-card"' in page
    assert "non-commercial" in page and "ImageNet" in page
    card = client.get("/model-card")
    assert card.status_code == 200 and "non-commercial" in card.text
