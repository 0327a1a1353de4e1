"""The gray and mean-ab baselines: they keep L, choose a constant ab, and behave like a Colorizer."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_photo
from PIL import Image
from skimage.color import rgb2lab

from colorize import baselines
from colorize.images import load_image


def _lab(img) -> np.ndarray:
    return rgb2lab(np.asarray(img.convert("RGB"), dtype=np.uint8))


def test_gray_baseline_keeps_lightness_and_removes_colour():
    photo = make_photo(3, (40, 48))
    out = baselines.GrayBaseline().colorize(Image.fromarray(photo))
    assert out.mode == "RGB" and out.size == (48, 40)
    arr = np.asarray(out).astype(int)
    assert np.abs(arr[..., 0] - arr[..., 1]).max() <= 1 and np.abs(arr[..., 1] - arr[..., 2]).max() <= 1
    lab_in, lab_out = rgb2lab(photo), _lab(out)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).max() < 0.5  # only 8-bit rounding
    assert np.abs(lab_out[..., 1:]).max() < 1.0  # channels differ by at most one 8-bit level


def test_mean_ab_baseline_paints_its_constant_ab_over_the_input_lightness():
    photo = make_photo(4, (32, 32))
    model = baselines.MeanAbBaseline((6.0, 20.0))
    lab = _lab(model.colorize(photo))
    lab_in = rgb2lab(photo)
    # Where the colour fits in sRGB (mid lightness) a, b are the constant and L is the input's.
    mid = (lab_in[..., 0] > 30) & (lab_in[..., 0] < 85)
    assert mid.sum() > 100
    assert np.abs(lab[mid][:, 1] - 6.0).max() < 1.0
    assert np.abs(lab[mid][:, 2] - 20.0).max() < 1.0
    assert np.abs(lab[mid][:, 0] - lab_in[mid][:, 0]).max() < 1.0


def test_mean_ab_default_is_the_documented_constant():
    assert baselines.MeanAbBaseline().ab == baselines.DEFAULT_MEAN_AB
    a, b = baselines.DEFAULT_MEAN_AB
    assert -10 < a < 10 and 0 < b < 20  # natural photos are slightly warm
    assert "imagenet-sample/train" in baselines.DEFAULT_MEAN_AB_SOURCE


def test_baselines_accept_every_colorizer_input_type(tmp_path: Path):
    photo = make_photo(5, (24, 30))
    path = tmp_path / "p.png"
    Image.fromarray(photo).save(path)
    expected = np.asarray(baselines.GrayBaseline().colorize(Image.fromarray(photo)))
    for source in (photo, path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes()), load_image(path)):
        assert np.array_equal(np.asarray(baselines.GrayBaseline().colorize(source)), expected)


def test_baselines_keep_alpha():
    rgba = np.dstack([make_photo(6, (20, 20)), np.linspace(0, 255, 400).reshape(20, 20).astype(np.uint8)])
    out = baselines.MeanAbBaseline().colorize(Image.fromarray(rgba, mode="RGBA"))
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], rgba[..., 3])


def _solid_png(path: Path, rgb, size=(16, 16)) -> None:
    Image.fromarray(np.broadcast_to(np.array(rgb, np.uint8), (*size, 3)).copy()).save(path)


def test_mean_ab_from_folder_is_the_pixel_weighted_mean_and_skips_gray_and_broken_files(tmp_path: Path):
    _solid_png(tmp_path / "a_orange.png", (220, 120, 40), (16, 16))
    _solid_png(tmp_path / "b_teal.png", (30, 140, 150), (16, 32))  # twice the pixels
    _solid_png(tmp_path / "c_gray.png", (90, 90, 90))
    (tmp_path / "d_broken.jpg").write_bytes(b"not a jpeg")
    stats = baselines.mean_ab_stats(tmp_path)
    orange = rgb2lab(np.array([[[220, 120, 40]]], np.uint8))[0, 0, 1:]
    teal = rgb2lab(np.array([[[30, 140, 150]]], np.uint8))[0, 0, 1:]
    expected = (orange * 1 + teal * 2) / 3
    assert stats.ab == pytest.approx(tuple(expected), abs=0.05)
    assert (stats.n_photos, stats.n_grayscale, stats.n_unreadable) == (2, 1, 1)
    model = baselines.MeanAbBaseline.from_folder(tmp_path)
    assert model.ab == stats.ab
    assert baselines.compute_mean_ab(tmp_path, limit=1) == pytest.approx(tuple(orange), abs=0.05)


def test_mean_ab_from_a_folder_without_colour_photos_is_a_clear_error(tmp_path: Path):
    _solid_png(tmp_path / "gray.png", (90, 90, 90))
    with pytest.raises(ValueError, match="no colour photos"):
        baselines.compute_mean_ab(tmp_path)
    with pytest.raises(FileNotFoundError):
        baselines.compute_mean_ab(tmp_path / "missing")


def test_build_baseline_by_name(tmp_path: Path):
    assert baselines.build_baseline("gray").name == "gray"
    assert baselines.build_baseline("mean-ab").ab == baselines.DEFAULT_MEAN_AB
    _solid_png(tmp_path / "x.png", (220, 120, 40))
    assert baselines.build_baseline("mean-ab", tmp_path).ab != baselines.DEFAULT_MEAN_AB
    with pytest.raises(ValueError, match="unknown baseline 'sepia'"):
        baselines.build_baseline("sepia")
    with pytest.raises(ValueError, match="two finite numbers"):
        baselines.MeanAbBaseline((float("nan"), 0.0))
    with pytest.raises(ValueError, match="uint8"):
        baselines.GrayBaseline().colorize(np.zeros((8, 8, 3), np.float32))


def test_baselines_render_through_the_models_full_resolution_path():
    from colorize.fullres import compose_full_resolution
    from colorize.infer import Colorizer

    photo = make_photo(8, (40, 56))
    model = baselines.MeanAbBaseline((6.0, 20.0))
    assert isinstance(model, Colorizer) and model.backend == "torch"
    expected = compose_full_resolution(photo, torch.tensor([6.0, 20.0]).view(2, 1, 1).expand(2, 5, 7))
    assert np.abs(np.asarray(model.colorize(photo)).astype(int) - expected).max() <= 1


def test_a_colour_outside_srgb_keeps_the_lightness_where_a_channel_clamp_would_not():
    # A strong red on bright pixels is outside sRGB: the gamut mapping pulls it towards gray at the same L.
    photo = np.full((16, 16, 3), 235, np.uint8)
    out = baselines.MeanAbBaseline((70.0, 50.0)).colorize(photo)
    lab_in, lab_out = rgb2lab(photo), _lab(out)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).max() < 1.0
    assert lab_out[..., 1].mean() > 5  # still reddish, as far as the gamut allows
    from colorize.lab import lab_to_rgb, rgb_to_lab, tensor_to_uint8, uint8_to_tensor

    lab = rgb_to_lab(uint8_to_tensor(photo.copy()))
    lab[:, 1], lab[:, 2] = 70.0, 50.0
    clamped = tensor_to_uint8(lab_to_rgb(lab))[0].numpy()
    assert np.abs(rgb2lab(clamped)[..., 0] - lab_in[..., 0]).max() > 3  # what the old clamp path did


def test_gray_baseline_of_a_gray_photo_is_that_photo():
    gray = np.asarray(baselines.GrayBaseline().colorize(make_photo(9, (24, 24))))
    assert np.array_equal(np.asarray(baselines.GrayBaseline().colorize(gray)), gray)
