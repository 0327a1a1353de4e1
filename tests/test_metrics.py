"""Metrics against hand-computed values and the libraries they are defined by."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import make_photo, skimage_photo

import torch

from colorize import metrics


def _solid(rgb, size=(8, 8)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (*size, 3)).copy()


@pytest.fixture(scope="module")
def photo_pair():
    real = skimage_photo("chelsea", 64)
    rng = np.random.default_rng(3)
    pred = np.clip(real.astype(np.int16) + rng.integers(-25, 26, real.shape) + [12, -8, 20], 0, 255).astype(np.uint8)
    return pred, real


# --- PSNR ---------------------------------------------------------------------------------------------------------


def test_psnr_of_identical_images_is_infinite_and_reported_as_such():
    x = make_photo(1, (32, 32))
    value = metrics.psnr(x, x.copy())
    assert value == math.inf
    assert metrics.json_number(value) == "inf"
    assert metrics.format_number(value) == "inf"
    assert json.dumps({"psnr": metrics.json_number(value)}, allow_nan=False) == '{"psnr": "inf"}'


def test_psnr_matches_hand_computed_value():
    # Every value off by 10 -> MSE = 100 -> 10 * log10(255^2 / 100) = 28.1308 dB.
    a = _solid((0, 0, 0))
    b = _solid((10, 10, 10))
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    assert metrics.psnr(a, b) == pytest.approx(28.1308, abs=1e-4)
    # Only one channel off by 30 in half the pixels: MSE = 30^2 / 6 = 150.
    c = a.copy()
    c[:4, :, 0] = 30
    assert metrics.psnr(a, c) == pytest.approx(10 * math.log10(255**2 / 150))


def test_psnr_is_scikit_images_and_equals_the_hand_written_formula_it_replaced(photo_pair):
    from skimage.metrics import peak_signal_noise_ratio

    pred, real = photo_pair
    mse = np.mean((pred.astype(np.float64) - real.astype(np.float64)) ** 2)
    assert metrics.psnr(pred, real) == pytest.approx(10.0 * np.log10(255.0**2 / mse), rel=1e-12)
    assert metrics.psnr(pred, real) == peak_signal_noise_ratio(real, pred, data_range=255)


def test_psnr_does_not_wrap_around_uint8():
    # 0 - 255 in uint8 would wrap to 1; the error must be the full 255.
    assert metrics.psnr(_solid((0, 0, 0)), _solid((255, 255, 255))) == pytest.approx(0.0)


# --- SSIM and CIEDE2000 against scikit-image ----------------------------------------------------------------------


def test_ssim_equals_scikit_image(photo_pair):
    from skimage.metrics import structural_similarity

    pred, real = photo_pair
    expected = structural_similarity(pred, real, channel_axis=-1, data_range=255)
    assert metrics.ssim(pred, real) == pytest.approx(expected, abs=1e-12)
    assert 0.0 < metrics.ssim(pred, real) < 0.95
    assert metrics.ssim(real, real) == pytest.approx(1.0)
    # The pair form reuses the real photo's filtered moments: same number.
    reference = metrics.Reference(real)
    assert metrics.ImagePair(real, reference).ssim() == pytest.approx(1.0)
    assert metrics.ImagePair(pred, reference).ssim() == pytest.approx(expected, abs=1e-12)


def test_ciede2000_equals_scikit_image_mean(photo_pair):
    from skimage.color import deltaE_ciede2000, rgb2lab

    pred, real = photo_pair
    expected = float(np.mean(deltaE_ciede2000(rgb2lab(real), rgb2lab(pred))))
    assert metrics.ciede2000(pred, real) == pytest.approx(expected, rel=1e-5)
    assert metrics.ciede2000(pred, real) > 1.0
    assert metrics.ciede2000(real, real) == 0.0


def test_delta_e_ciede2000_matches_scikit_image_per_pixel_including_grays_and_hue_wrap():
    from skimage.color import deltaE_ciede2000

    gen = torch.Generator().manual_seed(0)
    n = 20000
    lab1 = torch.stack([torch.rand(n, generator=gen) * 100, *((torch.rand(2, n, generator=gen) - 0.5) * 200)])
    lab2 = torch.stack([torch.rand(n, generator=gen) * 100, *((torch.rand(2, n, generator=gen) - 0.5) * 200)])
    lab1[1:, :500] = 0  # gray against colour: one hue undefined
    lab2[1:, 250:750] = 0  # and gray against gray
    lab2[:, 1000:1100] = lab1[:, 1000:1100]  # identical pixels
    lab2[1, 2000:2100], lab2[2, 2000:2100] = -lab1[1, 2000:2100], -lab1[2, 2000:2100] * 0.1  # hues ~180 deg apart
    expected = deltaE_ciede2000(lab1.T.double().numpy(), lab2.T.double().numpy())
    ours = metrics.delta_e_ciede2000(lab1, lab2).numpy()
    assert np.abs(ours - expected).max() < 1e-3
    assert np.all(ours[1000:1100] == 0)


def test_ciede2000_of_black_against_white_is_100():
    # Lab black (0,0,0) vs white (100,0,0): with equal (zero) chroma CIEDE2000 is dL / S_L, and S_L = 1 at L' = 50.
    assert metrics.ciede2000(_solid((0, 0, 0)), _solid((255, 255, 255))) == pytest.approx(100.0, abs=0.01)


def test_pair_metrics_reject_bad_input():
    x = make_photo(0, (16, 16))
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(x, make_photo(0, (16, 24)))
    with pytest.raises(ValueError, match="uint8"):
        metrics.ciede2000(x.astype(np.float32), x)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        metrics.psnr(x[..., 0], x[..., 0])
    with pytest.raises(ValueError, match="at least 7x7"):
        metrics.ssim(x[:5, :5], x[:5, :5])


# --- colourfulness ------------------------------------------------------------------------------------------------


def test_colorfulness_of_gray_images_is_zero():
    ramp = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 16, axis=0).repeat(3, axis=2)
    assert metrics.colorfulness(ramp) == 0.0
    assert metrics.colorfulness(_solid((128, 128, 128))) == 0.0


def test_colorfulness_of_a_solid_colour_is_the_mean_term_only():
    # (200, 100, 50): rg = 100, yb = 150 - 50 = 100, no spread -> CF = 0.3 * sqrt(100^2 + 100^2) = 42.426.
    assert metrics.colorfulness(_solid((200, 100, 50))) == pytest.approx(0.3 * math.sqrt(2) * 100)
    assert metrics.colorfulness(_solid((200, 100, 50))) == pytest.approx(42.4264, abs=1e-4)


def test_colorfulness_of_half_red_half_blue_matches_hand_computation():
    img = _solid((255, 0, 0), (8, 8))
    img[:, 4:] = (0, 0, 255)
    # red: rg = 255, yb = 127.5; blue: rg = 0, yb = -255 (half the pixels each).
    # mean rg = 127.5, std rg = 127.5; mean yb = -63.75, std yb = 191.25.
    # sigma = sqrt(127.5^2 + 191.25^2) = 229.8539; mu = sqrt(127.5^2 + 63.75^2) = 142.5494; CF = sigma + 0.3 mu.
    expected = math.sqrt(127.5**2 + 191.25**2) + 0.3 * math.sqrt(127.5**2 + 63.75**2)
    assert expected == pytest.approx(272.6187, abs=1e-4)
    assert metrics.colorfulness(img) == pytest.approx(expected)


def test_delta_colorfulness_is_the_gap_between_set_means():
    assert metrics.delta_colorfulness([10.0, 30.0], [25.0, 35.0, 45.0]) == pytest.approx(15.0)
    assert metrics.delta_colorfulness([40.0], [35.0, 45.0]) == 0.0
    with pytest.raises(ValueError, match="at least one"):
        metrics.delta_colorfulness([], [1.0])


# --- Fréchet distance ---------------------------------------------------------------------------------------------


def test_frechet_distance_of_one_dimensional_gaussians_is_closed_form():
    # FD(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2
    assert metrics.frechet_distance([1.0], [[4.0]], [4.0], [[9.0]]) == pytest.approx(9.0 + 1.0)


def test_frechet_distance_of_diagonal_gaussians_is_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_frechet_distance_from_features_matches_the_statistics_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 6))
    b = rng.normal(loc=0.5, scale=1.5, size=(30, 6))
    via_stats = metrics.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    # 30, 40 > 6: full covariance path; the small-Gram path must agree where it applies too.
    assert metrics.frechet_distance_from_features(a, b) == pytest.approx(via_stats, rel=1e-6)
    few_a, few_b = a[:4], b[:5]  # fewer samples than dimensions: singular covariances
    via_stats_few = metrics.frechet_distance(
        few_a.mean(0), np.cov(few_a, rowvar=False), few_b.mean(0), np.cov(few_b, rowvar=False)
    )
    assert metrics.frechet_distance_from_features(few_a, few_b) == pytest.approx(via_stats_few, rel=1e-4)
    assert metrics.frechet_distance_from_features(few_b, few_a) == pytest.approx(via_stats_few, rel=1e-4)


def test_frechet_distance_with_fewer_samples_than_dimensions_is_zero_against_itself_and_grows_with_shift():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(12, 1280))
    same = metrics.frechet_distance_from_features(feats, feats.copy())
    assert math.isfinite(same) and same == pytest.approx(0.0, abs=1e-6)
    shifted = [metrics.frechet_distance_from_features(feats, feats + d) for d in (0.1, 0.5, 1.0)]
    # A pure mean shift of d in every one of 1280 dimensions adds exactly 1280 d^2.
    assert shifted == pytest.approx([1280 * d**2 for d in (0.1, 0.5, 1.0)], rel=1e-6)


def test_frechet_distance_rejects_sets_too_small_or_mismatched():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance_from_features(np.zeros((1, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="equal D"):
        metrics.frechet_distance_from_features(np.zeros((3, 4)), np.zeros((3, 5)))


@pytest.fixture(scope="module")
def efflite0():
    return metrics.EfficientNetLite0Features()


def test_efflite0_features_work_on_tiny_images(efflite0):
    images = [make_photo(i, (16, 20)) for i in range(3)]
    feats = efflite0(images)
    assert feats.shape == (3, 1280)
    assert np.all(np.isfinite(feats))
    assert not np.allclose(feats[0], feats[1])
    # Batching must not change a photo's features.
    assert np.allclose(efflite0(images[:1]), feats[:1], atol=1e-4)


def test_fd_efflite0_is_zero_for_a_set_against_itself_and_grows_with_colour_shift(efflite0):
    photos = [make_photo(i, (48, 48)) for i in range(6)]
    real = efflite0(photos)
    assert metrics.frechet_distance_from_features(real, real.copy()) == pytest.approx(0.0, abs=1e-3)

    def shifted(amount):
        # Push colour towards red and away from blue by `amount` levels: same scenes, wrong colours.
        return [np.clip(p.astype(np.int16) + [amount, 0, -amount], 0, 255).astype(np.uint8) for p in photos]

    small, large = (metrics.frechet_distance_from_features(real, efflite0(shifted(a))) for a in (30, 120))
    assert 0 < small < large


def test_feature_backends_always_offer_fd_efflite0_and_fid_only_when_available():
    names = [b.name for b in metrics.feature_backends()]
    assert names[0] == "fd_efflite0"
    assert ("fid" in names) == metrics.inception_fid_available()
    if not metrics.inception_fid_available():
        with pytest.raises(FileNotFoundError, match="not available offline"):
            metrics.InceptionFIDFeatures()


def test_json_number_conventions():
    assert metrics.json_number(-math.inf) == "-inf"
    assert metrics.json_number(math.nan) is None
    assert metrics.json_number(None) is None
    assert metrics.json_number(np.float32(2.5)) == 2.5


# --- colour cast ----------------------------------------------------------------------------------------------------


def test_colour_cast_is_the_mean_ab_difference_in_lab_units():
    from skimage.color import rgb2lab

    real = _solid((128, 128, 128))
    warm = _solid((200, 120, 60))
    a, b = metrics.colour_cast(warm, real)
    expected = rgb2lab(warm)[0, 0, 1:] - rgb2lab(real)[0, 0, 1:]
    assert (a, b) == pytest.approx(tuple(expected), abs=1e-3)
    assert b > 20  # orange is yellow-ish: a strong +b cast against gray
    assert metrics.colour_cast(warm, warm) == (0.0, 0.0)
    photo = make_photo(2, (32, 32))
    assert metrics.colour_cast(photo, photo) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_cast_metrics_average_the_per_photo_casts_and_closer_to_zero_is_better():
    real = [make_photo(i, (16, 16)) for i in range(3)]
    preds = [np.clip(r.astype(int) + [20, 0, -20], 0, 255).astype(np.uint8) for r in real]
    per_photo = [metrics.colour_cast(p, r) for p, r in zip(preds, real)]
    scores = [metrics.score_pair(metrics.ImagePair(p, r)) for p, r in zip(preds, real)]
    values = {k: np.array([s[k] for s in scores]) for k in metrics.PER_IMAGE_METRICS}
    table = metrics.set_metrics(metrics.SetScores(values, np.array([metrics.colorfulness(r) for r in real])))
    assert table["cast_a"] == pytest.approx(np.mean([c[0] for c in per_photo]))
    assert table["cast_a"] > 1 and table["cast_b"] > 1  # red up, blue down: +a and +b
    cast = metrics.METRICS["cast_b"]
    assert cast.best([3.0, -0.5, 1.0]) == -0.5 and cast.beats(-0.5, 1.0) and cast.arrow == "→0"


# --- metric records -------------------------------------------------------------------------------------------------


def test_every_metric_record_is_complete_and_consistent():
    for name, metric in metrics.METRICS.items():
        assert metric.name == name and metric.description
        assert metric.better in ("higher", "lower", "zero", None)
        assert (metric.per_image is not None) or (metric.aggregate is not None), name
        assert not metric.win_rate or metric.per_image is not None
    assert list(metrics.WIN_RATE_METRICS) == ["psnr", "ssim", "ciede2000", "dcf_image"]
    assert metrics.METRICS["psnr"].higher_is_better is True and metrics.METRICS["cast_a"].higher_is_better is None
    assert metrics.METRICS["ssim"].digits == 4


def test_a_set_metric_needs_its_features_and_reports_missing_ones_as_nan():
    values = {k: np.zeros(1) for k in metrics.PER_IMAGE_METRICS}
    without = metrics.set_metrics(metrics.SetScores(values, np.zeros(1)))
    assert "fd_efflite0" not in without and "dcf_image" not in without and "cast_a" in without
    one = metrics.SetScores(values, np.zeros(1), {"fd_efflite0": (np.zeros((1, 4)), np.zeros((1, 4)))})
    assert math.isnan(metrics.set_metrics(one)["fd_efflite0"])
