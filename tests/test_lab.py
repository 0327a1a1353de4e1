"""Colour maths: kornia-based conversions agree with scikit-image and invert each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import color

from colorize import lab
from conftest import make_photo


def _random_rgb(seed: int, shape=(2, 3, 16, 16)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_rgb_to_lab_matches_scikit_image():
    rgb = _random_rgb(1)
    ours = lab.rgb_to_lab(rgb).permute(0, 2, 3, 1).numpy()
    ref = np.stack([color.rgb2lab(img) for img in rgb.permute(0, 2, 3, 1).numpy().astype(np.float64)])
    assert np.abs(ours - ref).max() < 0.05


def test_lab_to_rgb_matches_scikit_image():
    rgb = _random_rgb(2)
    lab_t = lab.rgb_to_lab(rgb)
    ours = lab.lab_to_rgb(lab_t).permute(0, 2, 3, 1).numpy()
    ref = np.stack([color.lab2rgb(x) for x in lab_t.permute(0, 2, 3, 1).numpy().astype(np.float64)])
    assert np.abs(ours - ref).max() < 1e-3


def test_round_trip_through_model_space_is_within_one_8bit_level():
    rgb = lab.uint8_to_tensor(np.stack([make_photo(s, (32, 40)) for s in range(3)]))
    l_norm, ab_norm = lab.rgb_to_model_space(rgb)
    back = lab.tensor_to_uint8(lab.model_space_to_rgb(l_norm, ab_norm))
    original = lab.tensor_to_uint8(rgb)
    assert (back.int() - original.int()).abs().max() <= 1


def test_normalisation_maps_lab_ranges_into_unit_interval():
    rgb = _random_rgb(3, (1, 3, 64, 64))
    rgb[..., 0, 0] = 0.0  # black
    rgb[..., 0, 1] = 1.0  # white
    l_norm, ab_norm = lab.rgb_to_model_space(rgb)
    assert l_norm.shape == (1, 1, 64, 64) and ab_norm.shape == (1, 2, 64, 64)
    assert l_norm.min() >= -1.0 - 1e-4 and l_norm.max() <= 1.0 + 1e-4
    assert torch.isclose(l_norm[0, 0, 0, 0], torch.tensor(-1.0), atol=1e-3)
    assert torch.isclose(l_norm[0, 0, 0, 1], torch.tensor(1.0), atol=1e-3)
    assert ab_norm.abs().max() <= 1.0
    assert torch.allclose(lab.denormalize_l(lab.normalize_l(torch.tensor([37.0]))), torch.tensor([37.0]))
    assert torch.allclose(lab.denormalize_ab(lab.normalize_ab(torch.tensor([-90.0]))), torch.tensor([-90.0]))


def test_gray_has_zero_ab_and_out_of_gamut_lab_is_clipped():
    gray = torch.full((1, 3, 4, 4), 0.5)
    _, ab = lab.rgb_to_model_space(gray)
    assert ab.abs().max() < 1e-3
    # Extreme ab at mid lightness lies outside sRGB: the inverse must still give valid pixels.
    l_norm = torch.zeros(1, 1, 4, 4)
    rgb = lab.model_space_to_rgb(l_norm, torch.ones(1, 2, 4, 4))
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0


@pytest.mark.parametrize("shape", [(8, 8, 3), (2, 8, 8, 3)])
def test_uint8_tensor_conversions_keep_values(shape):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    t = lab.uint8_to_tensor(arr)
    assert t.shape[1] == 3 and t.dtype == torch.float32
    back = lab.tensor_to_uint8(t).numpy()
    assert np.array_equal(back.reshape(arr.shape), arr)
