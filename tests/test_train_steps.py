"""The training steps as objects: one update callable from outside the loop, frozen D parameters never stepped,
multi-scale discriminators, and the epoch loss totals."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from colorize.losses import GANLoss, L1Loss
from colorize.models import build_generator, list_discriminators, register_discriminator
from colorize.train.networks import Networks
from colorize.train.runtime import Runtime
from colorize.train.steps import LOSS_COLUMNS, EpochTotals, GANStep, L1Step

TWO_SCALE = "test_two_scale_frozen"


class TwoScaleFrozenDiscriminator(nn.Module):
    """A frozen feature conv and two trainable logit heads (fine and coarse): the shape of a projected D."""

    def __init__(self, in_channels: int = 3, width: int = 4):
        super().__init__()
        self.config = {"in_channels": in_channels, "width": width}
        self.features = nn.Conv2d(in_channels, width, 3, padding=1).requires_grad_(False)
        self.fine, self.coarse = nn.Conv2d(width, 1, 1), nn.Conv2d(width, 1, 1)

    def forward(self, pair: torch.Tensor) -> list[torch.Tensor]:
        f = self.features(pair)
        return [self.fine(f), self.coarse(F.avg_pool2d(f, 2))]


@pytest.fixture
def two_scale_registered(monkeypatch):
    """TWO_SCALE is a discriminator kind for the test only (the registry is module-level)."""
    from colorize.models import registry

    for attr in ("_builders", "_fixed"):
        monkeypatch.setattr(registry._DISCRIMINATORS, attr, dict(getattr(registry._DISCRIMINATORS, attr)))
    register_discriminator(TWO_SCALE)(TwoScaleFrozenDiscriminator)
    assert TWO_SCALE in list_discriminators()


def tiny_networks(discriminator: nn.Module | None = None) -> Networks:
    torch.manual_seed(0)
    G = build_generator("pix2pix_unet", num_downs=5, num_filters=4)
    D = discriminator if discriminator is not None else TwoScaleFrozenDiscriminator()
    return Networks(G, D, Runtime(device="cpu", precision="fp32", channels_last=False))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 1, 32, 32, generator=g) * 2 - 1, torch.rand(2, 2, 32, 32, generator=g) * 2 - 1


def runtime_parts():
    rt = Runtime(device="cpu", precision="fp32", channels_last=False)
    return rt.autocast, rt.grad_scaler(), rt.grad_scaler()


def test_gan_step_updates_g_and_the_trainable_part_of_d_only():
    nets = tiny_networks()
    autocast, scaler_G, scaler_D = runtime_parts()
    step = GANStep(nets, lr=1e-2, beta1=0.5, gan_loss=GANLoss("vanilla"), l1_loss=L1Loss(100.0), autocast=autocast,
                   scaler_G=scaler_G, scaler_D=scaler_D)
    D = nets.discriminator
    assert {id(p) for g in step.opt_D.param_groups for p in g["params"]} == {
        id(p) for p in (*D.fine.parameters(), *D.coarse.parameters())}
    frozen = D.features.weight.clone()
    heads = D.fine.weight.clone()
    g_before = {k: v.clone() for k, v in nets.generator.state_dict().items()}

    losses = step(*batch())

    assert set(losses) == set(LOSS_COLUMNS) and all(math.isfinite(v) for v in losses.values())
    assert losses["loss_D"] == pytest.approx((losses["loss_D_fake"] + losses["loss_D_real"]) / 2)
    assert losses["loss_G"] == pytest.approx(losses["loss_G_GAN"] + losses["loss_G_L1"])
    assert torch.equal(D.features.weight, frozen) and not D.features.weight.requires_grad  # still frozen
    assert not torch.equal(D.fine.weight, heads) and D.fine.weight.requires_grad
    assert any(not torch.equal(v, g_before[k]) for k, v in nets.generator.state_dict().items())
    assert all(g["lr"] == 1e-2 and g["betas"] == (0.5, 0.999) for o in (step.opt_G, step.opt_D)
               for g in o.param_groups)


def test_l1_step_trains_g_alone_and_its_loss_is_the_weighted_l1():
    nets = tiny_networks()
    autocast, scaler_G, _ = runtime_parts()
    step = L1Step(nets, lr=1e-3, l1_loss=L1Loss(10.0), autocast=autocast, scaler_G=scaler_G)
    l_norm, ab = batch()
    with torch.no_grad():
        expected = 10.0 * (nets.generator(l_norm) - ab).abs().mean().item()
    d_before = {k: v.clone() for k, v in nets.discriminator.state_dict().items()}
    losses = step(l_norm, ab)
    assert losses == {"loss_G_L1": pytest.approx(expected, rel=1e-5), "loss_G": losses["loss_G_L1"]}
    assert all(torch.equal(v, d_before[k]) for k, v in nets.discriminator.state_dict().items())
    assert step.opt_D is None and step.opt_G.param_groups[0]["betas"] == (0.9, 0.999)


def test_loaded_optimiser_state_keeps_the_steps_own_learning_rate():
    nets = tiny_networks()
    autocast, scaler_G, scaler_D = runtime_parts()
    kwargs = dict(gan_loss=GANLoss("lsgan"), l1_loss=L1Loss(1.0), autocast=autocast, scaler_G=scaler_G,
                  scaler_D=scaler_D)
    first = GANStep(nets, lr=2e-4, beta1=0.5, **kwargs)
    first(*batch())
    saved = first.optimizer_state()
    second = GANStep(nets, lr=5e-5, beta1=0.9, **kwargs)
    second.load_optimizer_state(saved)
    assert second.opt_G.state_dict()["state"][0]["step"] == 1  # the saved moments came along
    assert {(g["lr"], g["betas"]) for o in (second.opt_G, second.opt_D) for g in o.param_groups} == {
        (5e-5, (0.9, 0.999))}


def test_epoch_totals_weight_by_batch_size_and_blank_d_columns_in_stage_1():
    totals = EpochTotals()
    totals.add({"loss_G_L1": 1.0, "loss_G": 1.0}, 4)
    totals.add({"loss_G_L1": 4.0, "loss_G": 4.0}, 1)
    means = totals.means("pretrain")
    assert means["loss_G_L1"] == pytest.approx(8.0 / 5) and math.isnan(means["loss_D"])
    assert math.isnan(EpochTotals().means("gan")["loss_G"])


def test_a_run_with_a_multi_scale_discriminator_never_steps_its_frozen_part(image_folder, tmp_path,
                                                                             two_scale_registered):
    from colorize.train import TrainConfig, Trainer

    config = TrainConfig(data=image_folder, out=tmp_path / "run", generator="pix2pix_unet", num_downs=5,
                         num_filters=8, size=32, batch_size=4, gan_epochs=2, discriminator=TWO_SCALE,
                         discriminator_option=("width=6",), precision="fp32", channels_last=False, num_threads=1,
                         progress=False, tensorboard=False)
    trainer = Trainer(config)
    trainer.initial_val_l1()
    initial = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    Trainer(config).fit()
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert saved["discriminator_kind"] == TWO_SCALE and saved["discriminator_config"]["width"] == 6
    assert torch.equal(saved["discriminator"]["features.weight"], initial["features.weight"])
    assert not torch.equal(saved["discriminator"]["fine.weight"], initial["fine.weight"])
    with pytest.raises(ValueError, match="--disc-filters.*accepts: in_channels, width"):
        TrainConfig(discriminator=TWO_SCALE, disc_filters=32)
