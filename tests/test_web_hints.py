"""Colour hints in the web API: guided results are stored with their hints, found again by the same hints, kept
apart from automatic results in ratings and the arena, and every bad hint is a clear 422 that writes nothing."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from sqlalchemy import select

from colorize.hints import MAX_HINTS
from colorize.lab import lab_to_rgb, rgb_to_lab, uint8_to_tensor
from colorize.web.config import ExportConfig
from colorize.web.db import Comparison, Result
from colorize.web.export import export_evaluations
from web_support import encode, gray_jpeg, make_client, second_browser, tiny_colorizer, upload

RED = "#c03020"
#: The gray of the flat test photo; the hint colour is chosen at its lightness so it is in gamut there.
GRAY = 128


def recolorize(client, result_id: str, hints: list):
    return client.post(f"/api/results/{result_id}/recolorize", json={"hints": hints})


def written(client) -> tuple[int, int]:
    """(result rows, stored files): what a refused request must leave unchanged."""
    svc = client.app.state.services
    with svc.db.session() as session:
        rows = len(session.scalars(select(Result)).all())
    return rows, len(list(svc.storage.files()))


def lab_pixels(png: bytes) -> np.ndarray:
    """(H, W, 3) L*a*b of an image file."""
    rgb = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    return rgb_to_lab(uint8_to_tensor(rgb[None]))[0].permute(1, 2, 0).numpy()


def hint_colour_at_gray(a: float, b: float) -> str:
    """#rrggbb of the colour with the test photo's lightness and this a*, b* (in gamut for moderate a, b)."""
    l_gray = float(rgb_to_lab(torch.full((1, 3, 1, 1), GRAY / 255.0))[0, 0])
    rgb = lab_to_rgb(torch.tensor([l_gray, a, b]).view(1, 3, 1, 1))[0, :, 0, 0]
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in rgb)


# --- guided results -------------------------------------------------------------------------------------------
def test_hints_make_a_guided_result_found_again_by_the_same_hints(client):
    automatic = upload(client)
    assert automatic["guided"] is False and automatic["hints"] == []
    response = recolorize(client, automatic["id"], [{"x": 10, "y": 12, "color": RED}])
    assert response.status_code == 201, response.text
    guided = response.json()
    assert guided["guided"] is True and guided["upload_id"] == automatic["upload_id"]
    assert guided["hints"] == [{"x": 10.0, "y": 12.0, "color": RED, "radius": 2}]
    assert guided["model_hash"] == automatic["model_hash"] and guided["id"] != automatic["id"]
    assert client.get(guided["urls"]["image"]).content != client.get(automatic["urls"]["image"]).content

    # The same hints, written another way and asked from the guided result: the stored result again.
    again = recolorize(client, guided["id"], [{"x": 10.0, "y": 12, "color": [192, 48, 32], "radius": 2}])
    assert again.status_code == 200 and again.json()["id"] == guided["id"]
    moved = recolorize(client, guided["id"], [{"x": 30, "y": 12, "color": RED}])
    assert moved.status_code == 201 and moved.json()["id"] not in (guided["id"], automatic["id"])
    # No hints at all: back to the automatic result.
    plain = recolorize(client, guided["id"], [])
    assert plain.status_code == 200 and plain.json()["id"] == automatic["id"]

    with client.app.state.services.db.session() as session:
        row = session.get(Result, guided["id"])
        assert row.hints == guided["hints"] and len(row.hints_key) == 64 and row.source == "guided"
        assert session.get(Result, automatic["id"]).hints is None
    history = [r["id"] for r in client.get("/api/results").json()]
    assert history[:2] == [moved.json()["id"], guided["id"]] and automatic["id"] in history


def test_an_upload_can_carry_its_hints(client):
    hints = json.dumps([{"x": 5, "y": 5, "color": "30,60,200", "radius": 1}])
    response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(1), "image/jpeg")},
                           data={"hints": hints})
    assert response.status_code == 201, response.text
    assert response.json()["guided"] is True
    assert response.json()["hints"] == [{"x": 5.0, "y": 5.0, "color": "#1e3cc8", "radius": 1}]
    plain = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(1), "image/jpeg")}).json()
    # The hints reached the model: the same photo without them comes out differently.
    assert client.get(response.json()["urls"]["image"]).content != client.get(plain["urls"]["image"]).content


def test_the_hint_colours_its_place_and_keeps_the_photos_lightness(client):
    photo = np.full((48, 64), GRAY, np.uint8)
    photo[:, 48:] = 40  # something else in the picture, away from the hint
    response = client.post("/api/results", files={"file": ("flat.png", encode(photo, "PNG"), "image/png")})
    automatic = response.json()
    colour = hint_colour_at_gray(-12.0, -30.0)
    guided = recolorize(client, automatic["id"], [{"x": 20, "y": 24, "color": colour, "radius": 2}]).json()
    lab = lab_pixels(client.get(guided["urls"]["image"]).content)
    hint_lab = lab_pixels(encode(np.full((1, 1, 3), [int(colour[i:i + 2], 16) for i in (1, 3, 5)], np.uint8),
                                 "PNG"))[0, 0]
    around = lab[23:26, 19:22].reshape(-1, 3)
    assert np.abs(around[:, 1:] - hint_lab[1:]).max() < 4.0  # the hint's a*, b*...
    gray_l = lab_pixels(encode(photo, "PNG"))[24, 20, 0]
    assert np.abs(around[:, 0] - gray_l).max() < 2.0  # ...at the photo's own lightness


# --- bad hints --------------------------------------------------------------------------------------------------
BAD_HINTS = {
    "outside": ([{"x": 64, "y": 10, "color": RED}], "outside the 64x48 photo"),
    "negative": ([{"x": -1, "y": 10, "color": RED}], "outside the 64x48 photo"),
    "colour": ([{"x": 5, "y": 5, "color": "red"}], "bad hint colour"),
    "too many": ([{"x": 1, "y": 1, "color": RED}] * (MAX_HINTS + 1), f"at most {MAX_HINTS}"),
    "missing": ([{"x": 5, "color": RED}], "needs x, y and color"),
    "radius": ([{"x": 5, "y": 5, "color": RED, "radius": 999}], "radius"),
    "not numbers": ([{"x": "5", "y": 5, "color": RED}], "must be numbers"),
}


@pytest.mark.parametrize("case", list(BAD_HINTS))
def test_each_bad_hint_is_a_clear_422_and_writes_nothing(client, case):
    hints, message = BAD_HINTS[case]
    result = upload(client)
    before = written(client)
    response = recolorize(client, result["id"], hints)
    assert response.status_code == 422 and message in response.json()["detail"], response.text
    assert written(client) == before
    # The same hints with an upload: refused too, and the upload leaves no row and no file behind.
    response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(0), "image/jpeg")},
                           data={"hints": json.dumps(hints)})
    assert response.status_code == 422 and message in response.json()["detail"], response.text
    assert written(client) == before


def test_hints_that_are_not_a_list_are_refused(client):
    result = upload(client)
    before = written(client)
    assert client.post(f"/api/results/{result['id']}/recolorize", json={"hints": "x"}).status_code == 422
    response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(0), "image/jpeg")},
                           data={"hints": "{not json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]
    assert written(client) == before


def test_a_model_without_hints_refuses_them_and_writes_nothing(tmp_path):
    with make_client(tmp_path, [tiny_colorizer("plain", seed=1, hint_reach=0)]) as client:
        result = upload(client)
        assert {m["name"]: m["takes_hints"] for m in client.get("/api/models").json()} == {"plain": False}
        before = written(client)
        response = recolorize(client, result["id"], [{"x": 5, "y": 5, "color": RED}])
        assert response.status_code == 422
        assert "does not take colour hints" in response.json()["detail"]
        response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(0), "image/jpeg")},
                               data={"hints": json.dumps([{"x": 5, "y": 5, "color": RED}])})
        assert response.status_code == 422 and "does not take colour hints" in response.json()["detail"]
        assert written(client) == before
        assert recolorize(client, result["id"], []).json()["id"] == result["id"]  # no hints: still fine


# --- privacy, ratings, arena, export ------------------------------------------------------------------------------
def test_guided_results_are_private_and_deleted_with_the_photo(client):
    result = upload(client)
    guided = recolorize(client, result["id"], [{"x": 3, "y": 3, "color": RED}]).json()
    other = second_browser(client)
    assert recolorize(other, result["id"], [{"x": 3, "y": 3, "color": RED}]).status_code == 404
    assert other.get(f"/api/results/{guided['id']}").status_code == 404
    assert client.delete(f"/api/results/{result['id']}").status_code == 204
    assert client.get(f"/api/results/{guided['id']}").status_code == 404
    assert written(client) == (0, 0)


def test_ratings_tell_guided_from_automatic_and_the_arena_stays_automatic(client, tmp_path):
    automatic = upload(client)
    guided = recolorize(client, automatic["id"], [{"x": 3, "y": 3, "color": RED}]).json()
    rating = client.post(f"/api/results/{guided['id']}/ratings", json={"stars": 5}).json()
    assert rating["guided"] is True and rating["hints"] == guided["hints"]
    listed = client.get(f"/api/results/{automatic['id']}/ratings")
    assert listed.status_code == 200 and listed.json() == []
    client.post(f"/api/results/{automatic['id']}/ratings", json={"stars": 2})
    assert client.get(f"/api/results/{automatic['id']}/ratings").json()[0]["guided"] is False
    stats = {m["name"]: m for m in client.get("/api/models").json()}["tiny-a"]
    assert (stats["ratings"]["count"], stats["ratings"]["mean"]) == (1, 2.0)
    assert (stats["guided_ratings"]["count"], stats["guided_ratings"]["mean"]) == (1, 5.0)
    assert stats["takes_hints"] is True

    pair = client.post("/api/comparisons", json={"upload_id": automatic["upload_id"]})
    assert pair.status_code == 201, pair.text
    with client.app.state.services.db.session() as session:
        comparison = session.get(Comparison, pair.json()["id"])
        assert comparison.left.hints_key == "" and comparison.right.hints_key == ""
        assert guided["id"] not in (comparison.left_result_id, comparison.right_result_id)

    data = tmp_path / "data"
    for fmt in ("json", "csv"):
        export_evaluations(ExportConfig(storage=str(data), out=str(tmp_path / fmt), format=fmt))
    rows = json.loads((tmp_path / "json" / "ratings.json").read_text())
    assert [(r["guided"], r["hints"]) for r in rows] == [(True, guided["hints"]), (False, [])]
    csv_text = (tmp_path / "csv" / "ratings.csv").read_text()
    assert "guided,hints" in csv_text.splitlines()[0] and '""color"":""#c03020""' in csv_text


def test_the_bundled_default_model_takes_hints():
    from colorize.infer import Colorizer

    assert Colorizer().takes_hints


def test_new_guided_results_are_rate_limited_but_asking_again_is_free(tmp_path, colorizers):
    with make_client(tmp_path, colorizers, uploads_per_minute=0.2) as client:  # one new guided result a minute
        result = upload(client)
        first = recolorize(client, result["id"], [{"x": 1, "y": 1, "color": RED}])
        assert first.status_code == 201
        refused = recolorize(client, result["id"], [{"x": 2, "y": 1, "color": RED}])
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "too many new colorizations" in refused.json()["detail"]
        assert recolorize(client, result["id"], [{"x": 1, "y": 1, "color": RED}]).json()["id"] == first.json()["id"]
