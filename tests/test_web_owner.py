"""Private by default: owner cookies, CSRF, who sees what, share links, metadata stripping, delete, retention."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from urllib.parse import unquote

from PIL import Image
from sqlalchemy import func, select, update

from colorize.web.db import Upload, utcnow
from colorize.web.owner import CSRF_COOKIE, OWNER_COOKIE, owner_of
from conftest import make_photo
from web_support import gray_jpeg, make_client, second_browser, upload

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION, MAKER_NOTE = 0x010F, 0x0110, 0x0112, 0x927C


def stored_files(tmp_path) -> list:
    return [p for p in (tmp_path / "data" / "images").rglob("*") if p.is_file()]


def photo_with_metadata() -> bytes:
    """A 40x24 JPEG stored sideways (EXIF orientation 6: display rotated 90 degrees) with GPS and camera tags."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "SpyCam", "X-1000", 6
    exif[MAKER_NOTE] = b"serial 12345"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    buf = io.BytesIO()
    Image.fromarray(make_photo(4, (24, 40))).convert("L").save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


# --- cookies and CSRF ------------------------------------------------------------------------------------------
def test_first_visit_gets_an_httponly_owner_cookie_and_a_csrf_cookie(tmp_path, colorizers):
    with make_client(tmp_path, colorizers) as c:
        c.cookies.clear()
        response = c.get("/")
        cookies = {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}
        assert "HttpOnly" in cookies[OWNER_COOKIE] and "SameSite=Lax" in cookies[OWNER_COOKIE]
        assert "HttpOnly" not in cookies[CSRF_COOKIE]  # the page reads it to send the header
        # A returning browser is not given a new identity.
        assert not c.get("/").headers.get_list("set-cookie")


def test_state_changing_requests_need_the_csrf_header(client):
    result = upload(client)
    token = client.headers.pop("X-CSRF-Token")
    forged = client.post(f"/api/results/{result['id']}/ratings", json={"stars": 1})
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
    assert client.delete(f"/api/results/{result['id']}").status_code == 403
    wrong = client.post(f"/api/results/{result['id']}/ratings", json={"stars": 1},
                        headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = client.post(f"/api/results/{result['id']}/ratings", json={"stars": 1}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201


# --- who sees what -------------------------------------------------------------------------------------------
def test_a_second_browser_sees_nothing_of_the_first(client):
    result = upload(client)
    rid = result["id"]
    client.post(f"/api/results/{rid}/ratings", json={"stars": 5, "comment": "mine"})
    with second_browser(client) as stranger:
        assert stranger.get("/api/results").json() == []
        for url in [f"/api/results/{rid}", f"/api/results/{rid}/ratings", *result["urls"].values()]:
            assert stranger.get(url).status_code == 404, url
        assert stranger.post(f"/api/results/{rid}/ratings", json={"stars": 1}).status_code == 404
        assert stranger.delete(f"/api/results/{rid}").status_code == 404
        assert stranger.post(f"/api/results/{rid}/share").status_code == 404
        assert stranger.post("/api/comparisons", json={"upload_id": result["upload_id"]}).status_code == 404
        assert stranger.post("/api/comparisons", json={}).status_code == 404  # no uploads of its own to pair
    # The owner still has everything, unchanged.
    assert [r["id"] for r in client.get("/api/results").json()] == [rid]
    assert [r["comment"] for r in client.get(f"/api/results/{rid}/ratings").json()] == ["mine"]


def test_share_link_shows_one_result_read_only(client):
    result = upload(client)
    shared = client.post(f"/api/results/{result['id']}/share").json()
    token = shared["share_url"].rsplit("=", 1)[1]
    assert client.post(f"/api/results/{result['id']}/share").json()["share_url"] == shared["share_url"]
    with second_browser(client) as friend:
        view = friend.get(f"/api/shared/{token}")
        assert view.status_code == 200 and view.json()["id"] == result["id"]
        for url in view.json()["urls"].values():
            assert friend.get(url).status_code == 200, url
        assert friend.get(f"/api/results/{result['id']}").status_code == 404  # the link, not the id, grants access
        assert friend.get(f"/api/shared/{'0' * 32}").status_code == 404


def test_answers_are_private_to_caches(client):
    result = upload(client)
    assert client.get("/api/results").headers["cache-control"] == "private, no-store"
    for url in result["urls"].values():
        cache = client.get(url).headers["cache-control"]
        assert cache.startswith("private") and "public" not in cache and "immutable" not in cache


# --- metadata ----------------------------------------------------------------------------------------------
def test_exif_gps_and_maker_notes_are_stripped_after_applying_the_orientation(client, tmp_path):
    data = photo_with_metadata()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture really carries GPS
    result = upload_bytes(client, data)
    assert (result["width"], result["height"]) == (24, 40)  # orientation 6 swaps the sides
    for key in ("original", "original_preview", "image", "image_preview", "download"):
        served = client.get(result["urls"][key]).content
        image = Image.open(io.BytesIO(served))
        assert image.size == (24, 40), key
        assert not image.getexif(), key
        assert b"SpyCam" not in served and b"serial 12345" not in served, key
    for path in stored_files(tmp_path):
        assert b"SpyCam" not in path.read_bytes() and b"Exif" not in path.read_bytes()[:200], path


def upload_bytes(client, data: bytes, name: str = "photo.jpg") -> dict:
    response = client.post("/api/results", files={"file": (name, data, "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()


def test_browser_escaped_quotes_come_back_as_the_users_file_name(client):
    # Browsers send `"` in a multipart file name as %22 (HTML form encoding).
    result = upload_bytes(client, gray_jpeg(), name='grandma %221952%22 #1 & Großvater.jpg')
    assert result["filename"] == 'grandma "1952" #1 & Großvater.jpg'
    header = client.get(result["urls"]["download"]).headers["content-disposition"]
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == 'grandma "1952" #1 & Großvater-colorized.png'
    assert header.startswith('attachment; filename="grandma _1952_ #1 & Gro_vater-colorized.png"')


# --- delete and retention --------------------------------------------------------------------------------------
def test_delete_removes_rows_and_files(client, tmp_path):
    result = upload(client)
    client.post(f"/api/results/{result['id']}/ratings", json={"stars": 3})
    pair = client.post("/api/comparisons", json={"upload_id": result["upload_id"]}).json()
    assert client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"}).status_code == 201
    kept = upload(client, seed=3)
    files_of_kept = 4
    assert len(stored_files(tmp_path)) == 2 + 2 + 2 + 2 + files_of_kept  # upload, 2 results, pair, second upload

    assert client.delete(f"/api/results/{result['id']}").status_code == 204
    assert len(stored_files(tmp_path)) == files_of_kept
    assert client.get(f"/api/results/{result['id']}").status_code == 404
    assert client.get(pair["left"]).status_code == 404
    assert [r["id"] for r in client.get("/api/results").json()] == [kept["id"]]
    assert client.get("/api/leaderboard").json()["total_votes"] == 0
    assert client.delete(f"/api/results/{result['id']}").status_code == 404


def test_retention_deletes_old_uploads_and_orphaned_files(client, tmp_path):
    old, new = upload(client, seed=1), upload(client, seed=2)
    services = client.app.state.services
    with services.db.session() as session:
        session.execute(update(Upload).where(Upload.id == old["upload_id"])
                        .values(created_at=utcnow() - timedelta(days=40)))
        session.commit()
    orphan = services.storage.path(services.storage.new_name("original", "jpg"))
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left by an interrupted upload")
    fresh_orphan = orphan.with_name(".tmp-in-flight")
    fresh_orphan.write_bytes(b"being written right now")
    an_hour_ago = time.time() - 2 * 3600
    os.utime(orphan, (an_hour_ago, an_hour_ago))

    report = services.cleanup(retention_days=30)
    assert report == {"expired_uploads": 1, "files_removed": 4, "orphans_removed": 1}
    assert not orphan.exists() and fresh_orphan.exists()  # young files may belong to an upload in progress
    assert [r["id"] for r in client.get("/api/results").json()] == [new["id"]]
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 1
    assert services.cleanup(retention_days=0) == {"expired_uploads": 0, "files_removed": 0, "orphans_removed": 0}


def test_owner_hash_not_token_is_stored(client):
    result = upload(client)
    token = client.cookies[OWNER_COOKIE]
    with client.app.state.services.db.session() as session:
        stored = session.scalar(select(Upload.owner).where(Upload.id == result["upload_id"]))
    assert stored == owner_of(token) and stored != token
