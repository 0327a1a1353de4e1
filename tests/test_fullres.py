"""Full-resolution recombination: kornia's Lab maths, the input's exact L, gray for ab = 0, bicubic upsampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import make_photo
from infer_support import lab_of

from colorize.fullres import compose_full_resolution, resize_matrix, upsample_ab
from colorize.lab import lab_to_rgb, rgb_to_lab, tensor_to_uint8, uint8_to_tensor


@pytest.mark.parametrize("n_in,n_out", [(24, 300), (7, 8), (40, 40), (64, 20)])
def test_resize_matrix_is_torch_bicubic(n_in, n_out):
    signal = torch.randn(1, 1, 1, n_in)
    expected = F.interpolate(signal, size=(1, n_out), mode="bicubic", align_corners=False,
                             antialias=n_out < n_in)[0, 0, 0]
    assert torch.allclose(resize_matrix(n_in, n_out) @ signal[0, 0, 0], expected, atol=1e-5)


def test_upsample_ab_is_2d_bicubic():
    ab = torch.randn(2, 12, 16) * 20
    expected = F.interpolate(ab[None], size=(90, 120), mode="bicubic", align_corners=False)[0]
    assert (upsample_ab(ab, (90, 120)) - expected).abs().max() < 1e-3


def test_matches_kornia_lab_to_rgb_inside_the_gamut():
    rgb = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    ab = torch.randn(2, 9, 12) * 12
    out = compose_full_resolution(rgb, ab)
    lab = rgb_to_lab(uint8_to_tensor(rgb))
    joined = torch.cat([lab[:, :1], upsample_ab(ab, (90, 120))[None]], dim=1)
    import kornia.color

    unclipped = kornia.color.lab_to_rgb(joined, clip=False)[0]
    inside = ((unclipped >= 0) & (unclipped <= 1)).all(0).numpy()
    assert inside.mean() > 0.8
    reference = tensor_to_uint8(lab_to_rgb(joined))[0].numpy()
    diff = np.abs(out.astype(int) - reference.astype(int)).max(-1)
    assert diff[inside].max() <= 1


@pytest.mark.parametrize("gain", [1.0, 10.0])
def test_lightness_is_the_inputs_even_out_of_gamut(gain):
    rgb = make_photo(1, (80, 100))
    ab = torch.randn(2, 8, 10) * 30 * gain
    out = compose_full_resolution(rgb, ab)
    assert np.abs(lab_of(out)[..., 0] - lab_of(rgb)[..., 0]).max() < 1.0
    assert np.hypot(*np.moveaxis(lab_of(out)[..., 1:], -1, 0)).mean() > 10


def test_zero_ab_gives_exact_gray_and_gray_input_keeps_its_values():
    rgb = make_photo(2, (50, 70))
    out = compose_full_resolution(rgb, torch.zeros(2, 4, 4))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    gray = np.repeat(out[..., :1], 3, axis=2)
    np.testing.assert_array_equal(compose_full_resolution(gray, torch.zeros(2, 3, 3)), gray)


def test_chunked_and_threaded_results_do_not_depend_on_workers():
    rgb = make_photo(3, (300, 97))
    ab = torch.randn(2, 30, 10) * 20
    np.testing.assert_array_equal(compose_full_resolution(rgb, ab, workers=1),
                                  compose_full_resolution(rgb, ab, workers=3))


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="uint8"):
        compose_full_resolution(np.zeros((4, 4, 3), np.float32), torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="ab"):
        compose_full_resolution(np.zeros((4, 4, 3), np.uint8), torch.zeros(3, 2, 2))
