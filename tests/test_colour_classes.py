"""ab as classes: the in-gamut bins, soft targets, rebalancing, annealed-mean decoding, the loss and the generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorize.colour_classes import (
    ColourClassLoss,
    annealed_mean,
    bin_centres,
    photo_ab_samples,
    rebalancing_weights,
    soft_encode,
)
from colorize.lab import rgb_to_lab
from colorize.models import build_generator, predicts_classes


def test_bins_cover_the_srgb_gamut_and_nothing_far_outside_it():
    centres = bin_centres()
    assert 200 < len(centres) < 320 and centres.shape[1] == 2
    assert torch.equal(centres, bin_centres())  # fixed order: a trained head depends on it
    rng = np.random.default_rng(0)
    rgb = torch.as_tensor(rng.random((3, 500, 1)), dtype=torch.float32)
    ab = rgb_to_lab(rgb.unsqueeze(0))[0, 1:].reshape(2, -1).T
    assert torch.cdist(ab, centres).min(dim=1).values.max() <= 10 / np.sqrt(2) + 1e-3  # every colour has its bin
    assert not ((centres[:, 0] < -100) & (centres[:, 1] > 80)).any()  # no green-yellow beyond sRGB


def test_soft_targets_sum_to_one_and_decode_back_to_the_colour():
    centres = bin_centres()
    ab = torch.tensor([30.0, -40.0, 0.0, 0.0, -20.0, 65.0]).reshape(3, 2).T.reshape(1, 2, 3, 1)
    target = soft_encode(ab, centres)
    assert target.shape == (1, len(centres), 3, 1)
    assert torch.allclose(target.sum(dim=1), torch.ones(1, 3, 1))
    assert ((target > 0).sum(dim=1) == 5).all()
    decoded = annealed_mean(torch.log(target + 1e-9), centres, temperature=1.0)
    assert torch.allclose(decoded, ab, atol=1.0)  # (-20, 65) lies at the gamut edge, with bins on one side only


def test_annealed_mean_goes_from_the_mean_to_the_mode():
    centres = torch.tensor([[0.0, 0.0], [50.0, 0.0]])
    logits = torch.log(torch.tensor([0.6, 0.4])).reshape(1, 2, 1, 1)
    assert annealed_mean(logits, centres, 1.0).flatten().tolist() == pytest.approx([20.0, 0.0], abs=1e-4)
    assert annealed_mean(logits, centres, 0.05).flatten()[0] < 1.0  # near the mode, 0


def test_rebalancing_weighs_rare_colours_up_with_mean_one_under_the_data():
    centres = bin_centres()
    rng = np.random.default_rng(1)
    common = rng.normal([2.0, 8.0], 4.0, size=(5000, 2))
    rare = rng.normal([-60.0, 50.0], 4.0, size=(50, 2))
    samples = torch.as_tensor(np.concatenate([common, rare]), dtype=torch.float32)
    weights = rebalancing_weights(samples, centres)
    nearest = torch.cdist(torch.tensor([[0.0, 10.0], [-60.0, 50.0]]), centres).argmin(dim=1)
    assert weights[nearest[1]] > 5 * weights[nearest[0]]
    frequency = soft_encode(samples.T.reshape(1, 2, -1, 1), centres).mean(dim=(0, 2, 3))
    assert 0.8 < float((frequency * weights).sum()) < 1.2


def test_photo_samples_are_the_photos_colours():
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    samples = photo_ab_samples([red], stride=4)
    assert samples.shape == (4, 2) and torch.allclose(samples[0], torch.tensor([80.1, 67.2]), atol=0.5)


def test_the_loss_prefers_the_right_classes():
    centres = bin_centres()
    loss = ColourClassLoss(2.0, torch.ones(len(centres)), centres)
    ab_real = torch.full((1, 2, 8, 8), 0.2)  # model space: a* = b* = 22
    right = torch.log(soft_encode(torch.full((1, 2, 2, 2), 22.0), centres) + 1e-6)
    wrong = torch.log(soft_encode(torch.full((1, 2, 2, 2), -40.0), centres) + 1e-6)
    assert loss(right, ab_real) < loss(wrong, ab_real)
    assert loss(right, ab_real) == pytest.approx(2 * ColourClassLoss(1.0, torch.ones(len(centres)))(right, ab_real))


def test_a_colour_class_generator_gives_ab_and_logits_and_starts_from_a_regression_twin():
    torch.manual_seed(0)
    regression = build_generator("efficientnet_lite0", pretrained=False)
    classes = build_generator("efficientnet_lite0", pretrained=False, colour_classes=True)
    assert predicts_classes(classes) and not predicts_classes(regression)
    classes.load_regression_state(regression.state_dict())
    theirs = regression.state_dict()
    shared = {k: v for k, v in classes.state_dict().items() if not k.startswith("class_head.")}
    assert shared and all(torch.equal(v, theirs[k]) for k, v in shared.items())
    classes.eval()
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    ab, logits = classes.forward_classes(l_norm)
    assert ab.shape == (2, 2, 64, 96) and logits.shape == (2, len(bin_centres()), 16, 24)
    assert torch.equal(classes(l_norm), ab) and ab.abs().max() <= 1
    with pytest.raises(RuntimeError, match="regression twin"):
        classes.load_regression_state(classes.state_dict())
    with pytest.raises(ValueError, match="no hints"):
        build_generator("efficientnet_lite0", pretrained=False, colour_classes=True, hints=True)
