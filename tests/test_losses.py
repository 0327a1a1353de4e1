"""GAN loss modes, label buffers, and the weighted L1 term."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorize.losses import GANLoss, L1Loss


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(2, 1, 6, 6) * 3


@pytest.mark.parametrize("real", [True, False])
def test_vanilla_is_bce_with_logits(logits, real):
    target = torch.full_like(logits, 1.0 if real else 0.0)
    expected = F.binary_cross_entropy_with_logits(logits, target)
    assert torch.allclose(GANLoss("vanilla")(logits, real), expected)


@pytest.mark.parametrize("real", [True, False])
def test_lsgan_is_mse_against_labels(logits, real):
    expected = ((logits - (1.0 if real else 0.0)) ** 2).mean()
    assert torch.allclose(GANLoss("lsgan")(logits, real), expected)


def test_confident_correct_logits_give_small_vanilla_loss():
    loss = GANLoss("vanilla")
    confident_real = torch.full((1, 1, 4, 4), 10.0)
    assert loss(confident_real, True) < 1e-3
    assert loss(confident_real, False) > 9.0


def test_labels_are_buffers_that_follow_the_module():
    loss = GANLoss("lsgan", real_label=0.9, fake_label=0.1)
    names = {n for n, _ in loss.named_buffers()}
    assert {"real_label", "fake_label"} <= names
    loss = loss.double()
    assert loss.real_label.dtype == torch.float64
    pred = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    assert torch.isclose(loss(pred, True), torch.tensor(0.81, dtype=torch.float64))
    assert torch.isclose(loss(pred, False), torch.tensor(0.01, dtype=torch.float64))


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="vanilla.*lsgan"):
        GANLoss("wgan")


def test_bf16_predictions_give_fp32_losses_with_gradients(logits):
    pred = logits.bfloat16().requires_grad_(True)
    value = GANLoss("vanilla")(pred, True)
    assert value.dtype == torch.float32
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


def test_l1_is_lambda_times_mean_absolute_error():
    from colorize.train import TrainConfig

    a, b = torch.rand(2, 2, 8, 8), torch.rand(2, 2, 8, 8)
    assert TrainConfig().lambda_l1 == 100.0  # pix2pix's weight, the run default
    assert torch.allclose(L1Loss(100.0)(a, b), 100.0 * (a - b).abs().mean())
    assert torch.allclose(L1Loss(weight=3.0)(a, b), 3.0 * (a - b).abs().mean())
    assert L1Loss(1.0)(a, a) == 0


@pytest.mark.parametrize("mode", ["vanilla", "lsgan"])
def test_a_list_of_logit_maps_gives_the_mean_of_their_losses(mode):
    coarse, fine = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 8, 8) + 2.0
    loss = GANLoss(mode)
    for real in (True, False):
        expected = (loss(coarse, real) + loss(fine, real)) / 2
        assert torch.allclose(loss([coarse, fine], real), expected)
        assert not torch.allclose(loss([coarse, fine], real), loss(torch.cat([coarse.flatten(), fine.flatten()]), real))
    with pytest.raises(ValueError, match="empty list"):
        loss([], True)


def test_feature_loss_is_zero_for_the_real_colours_and_trains_only_the_colours():
    from colorize.losses import FeatureLoss

    torch.manual_seed(0)
    loss = FeatureLoss(2.0, pretrained=False)
    l_norm = torch.rand(2, 1, 64, 64) * 2 - 1
    ab_real = (torch.rand(2, 2, 64, 64) - 0.5) * 0.6
    assert loss(l_norm, ab_real, ab_real).item() == pytest.approx(0.0, abs=1e-6)
    ab_fake = torch.zeros_like(ab_real, requires_grad=True)
    value = loss(l_norm, ab_fake, ab_real)
    assert value.item() > 0
    value.backward()
    assert ab_fake.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.parameters())
    half = FeatureLoss(1.0, pretrained=False)
    half.load_state_dict(loss.state_dict())
    assert half(l_norm, ab_fake, ab_real).item() == pytest.approx(value.item() / 2, rel=1e-5)
