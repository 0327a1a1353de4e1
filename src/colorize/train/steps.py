"""One optimisation step of each training stage, as objects that hold their networks, optimisers and losses.

`step(l_norm, ab_real) -> {loss name: value}` runs one update on a model-space batch, like pix2pix's
optimize_parameters; the trainer's loop and benchmarks/train_throughput.py call the same objects. A run with
--hints also passes `hints`, the colour hint planes sampled for the batch: G reads them, D never sees them.

* `L1Step` (stage "pretrain"): G alone, loss lambda x L1. Adam with default betas (0.9, 0.999).
* `GANStep` (stage "gan"): the fake ab is computed once; D is updated on (L, fake.detach()) vs (L, real ab) with the
  two losses averaged, then G with the GAN loss against real labels + lambda x L1. Adam, betas (beta1, 0.999).

With --feature-loss W, both add W x `losses.FeatureLoss` to G's loss: it is in `loss_G` (not a column of its own).
A generator that predicts ab as classes (`colorize.colour_classes`) gets lambda x its rebalanced cross-entropy in
place of lambda x L1 (`ColourTerm`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from colorize.colour_classes import ColourClassLoss, rebalancing_weights
from colorize.losses import FeatureLoss, GANLoss, L1Loss
from colorize.models import predicts_classes
from colorize.train.config import TrainConfig
from colorize.train.networks import Networks
from colorize.train.runtime import Runtime

LOSS_COLUMNS = ("loss_D_fake", "loss_D_real", "loss_D", "loss_G_GAN", "loss_G_L1", "loss_G")
#: the losses of the discriminator and against it, which stage 1 does not have
GAN_LOSSES = ("loss_D_fake", "loss_D_real", "loss_D", "loss_G_GAN")


def _set_hyperparameters(optimizer: torch.optim.Optimizer, lr: float, betas: tuple[float, float] | None) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
        if betas is not None:
            group["betas"] = betas


def _feature_term(feature_loss: FeatureLoss | None, autocast: Callable[[], Any], l_norm: torch.Tensor,
                  ab_fake: torch.Tensor, ab_real: torch.Tensor) -> torch.Tensor | float:
    if feature_loss is None:
        return 0.0
    with autocast():
        return feature_loss(l_norm, ab_fake, ab_real)


def _generate(G: Callable[..., torch.Tensor], l_norm: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
    return G(l_norm) if hints is None else G(l_norm, hints)


class ColourTerm:
    """G's colours and the lambda-weighted term that pulls them to the real ones: L1 on ab, or, for a generator
    that predicts ab as classes, the rebalanced cross-entropy on its bin logits (logged as loss_G_L1 all the same:
    the column is "the colour term")."""

    def __init__(self, networks: Networks, l1_loss: L1Loss, class_loss: ColourClassLoss | None = None):
        self.networks, self.l1_loss, self.class_loss = networks, l1_loss, class_loss

    def generate(self, l_norm: torch.Tensor, hints: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.class_loss is None:
            return _generate(self.networks.G, l_norm, hints), None
        return self.networks.generator.forward_classes(l_norm, hints)

    def __call__(self, ab_fake: torch.Tensor, logits: torch.Tensor | None, ab_real: torch.Tensor) -> torch.Tensor:
        return self.l1_loss(ab_fake, ab_real) if logits is None else self.class_loss(logits, ab_real)


def _update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


class L1Step:
    """Stage 1: G learns the colours alone, with lambda x mean |ab error|."""

    stage = "pretrain"

    def __init__(self, networks: Networks, *, lr: float, l1_loss: L1Loss, autocast: Callable[[], Any],
                 scaler_G: torch.amp.GradScaler, feature_loss: FeatureLoss | None = None,
                 class_loss: ColourClassLoss | None = None):
        self.networks = networks
        self.colour, self.feature_loss = ColourTerm(networks, l1_loss, class_loss), feature_loss
        self.autocast = autocast
        self.scaler_G = scaler_G
        self.lr = lr
        self.opt_G = torch.optim.Adam(networks.generator.parameters())
        self.opt_D = None
        self._set_hyperparameters()

    def _set_hyperparameters(self) -> None:
        # Stage 1 keeps Adam's default betas: only the learning rate is the run's.
        _set_hyperparameters(self.opt_G, self.lr, None)

    def optimizer_state(self) -> dict[str, Any]:
        return {"optimizer_G": self.opt_G.state_dict(), "optimizer_D": None}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Continue saved optimisers; their saved learning rate gives way to this step's (the command line's)."""
        self.opt_G.load_state_dict(state["optimizer_G"])
        self._set_hyperparameters()

    def __call__(self, l_norm: torch.Tensor, ab_real: torch.Tensor,
                 hints: torch.Tensor | None = None) -> dict[str, float]:
        self.opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            ab_fake, logits = self.colour.generate(l_norm, hints)
        loss_G_L1 = self.colour(ab_fake, logits, ab_real)
        loss_G = loss_G_L1 + _feature_term(self.feature_loss, self.autocast, l_norm, ab_fake, ab_real)
        _update(loss_G, self.opt_G, self.scaler_G)
        self.networks.after_generator_update()
        return {"loss_G_L1": loss_G_L1.item(), "loss_G": loss_G.item()}


class GANStep:
    """Stage 2: pix2pix. D only steps its trainable parameters (a frozen feature network is never optimised)."""

    stage = "gan"

    def __init__(self, networks: Networks, *, lr: float, beta1: float, gan_loss: GANLoss, l1_loss: L1Loss,
                 autocast: Callable[[], Any], scaler_G: torch.amp.GradScaler, scaler_D: torch.amp.GradScaler,
                 feature_loss: FeatureLoss | None = None, class_loss: ColourClassLoss | None = None):
        self.networks = networks
        self.gan_loss, self.feature_loss = gan_loss, feature_loss
        self.colour = ColourTerm(networks, l1_loss, class_loss)
        self.autocast = autocast
        self.scaler_G, self.scaler_D = scaler_G, scaler_D
        self.lr, self.beta1 = lr, beta1
        self.d_parameters = [p for p in networks.discriminator.parameters() if p.requires_grad]
        self.opt_G = torch.optim.Adam(networks.generator.parameters())
        self.opt_D = torch.optim.Adam(self.d_parameters)
        self._set_hyperparameters()

    def _set_hyperparameters(self) -> None:
        for optimizer in (self.opt_G, self.opt_D):
            _set_hyperparameters(optimizer, self.lr, (self.beta1, 0.999))

    def optimizer_state(self) -> dict[str, Any]:
        return {"optimizer_G": self.opt_G.state_dict(), "optimizer_D": self.opt_D.state_dict()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Continue saved optimisers; their saved lr and betas give way to this step's (the command line's)."""
        self.opt_G.load_state_dict(state["optimizer_G"])
        if state["optimizer_D"] is not None:
            self.opt_D.load_state_dict(state["optimizer_D"])
        self._set_hyperparameters()

    def _d_requires_grad(self, flag: bool) -> None:
        for p in self.d_parameters:
            p.requires_grad_(flag)

    def __call__(self, l_norm: torch.Tensor, ab_real: torch.Tensor,
                 hints: torch.Tensor | None = None) -> dict[str, float]:
        nets = self.networks
        with self.autocast():
            ab_fake, logits = self.colour.generate(l_norm, hints)  # computed once, used by both updates

        # D: real pairs -> real, generated pairs -> fake; the two losses averaged.
        self._d_requires_grad(True)
        self.opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            pred_fake = nets.D(torch.cat([l_norm, ab_fake.detach()], dim=1))
            pred_real = nets.D(torch.cat([l_norm, ab_real], dim=1))
        loss_D_fake = self.gan_loss(pred_fake, False)
        loss_D_real = self.gan_loss(pred_real, True)
        loss_D = 0.5 * (loss_D_fake + loss_D_real)
        _update(loss_D, self.opt_D, self.scaler_D)

        # G: fool D (real labels) + lambda * L1. D is only a function here: no grads for it, no DDP sync.
        self._d_requires_grad(False)
        self.opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            pred = nets.discriminator(torch.cat([l_norm, ab_fake], dim=1))
        loss_G_GAN = self.gan_loss(pred, True)
        loss_G_L1 = self.colour(ab_fake, logits, ab_real)
        loss_G = loss_G_GAN + loss_G_L1 + _feature_term(self.feature_loss, self.autocast, l_norm, ab_fake, ab_real)
        _update(loss_G, self.opt_G, self.scaler_G)
        self._d_requires_grad(True)
        nets.after_generator_update()
        return {"loss_D_fake": loss_D_fake.item(), "loss_D_real": loss_D_real.item(), "loss_D": loss_D.item(),
                "loss_G_GAN": loss_G_GAN.item(), "loss_G_L1": loss_G_L1.item(), "loss_G": loss_G.item()}


TrainStep = L1Step | GANStep


def build_step(stage: str, networks: Networks, config: TrainConfig, runtime: Runtime,
               scalers: dict[str, torch.amp.GradScaler],
               colour_samples: Callable[[], torch.Tensor] | None = None) -> TrainStep:
    """The step `colorize train` runs in `stage` ("pretrain" or "gan") for `config`; the loss scalers persist
    across stages, so they are the caller's. A generator that predicts colour classes needs `colour_samples`:
    (N, 2) a*b* values of the training photos, whose frequencies set the loss's rebalancing weights."""
    class_loss = None
    if predicts_classes(networks.generator):
        if colour_samples is None:
            raise ValueError("a colour-class generator needs the training photos' colours (colour_samples)")
        if runtime.distributed:
            raise ValueError("colour-class generators train on one process (their loss bypasses DDP's wrapper)")
        centres = networks.generator.class_centres.cpu()
        class_loss = ColourClassLoss(config.lambda_l1, rebalancing_weights(colour_samples(), centres), centres)
        class_loss = class_loss.to(runtime.device)
    colour = dict(l1_loss=L1Loss(config.lambda_l1), class_loss=class_loss)
    feature_loss = None
    if config.feature_loss > 0:
        feature_loss = FeatureLoss(config.feature_loss).to(runtime.device, memory_format=runtime.memory_format)
    if stage == "pretrain":
        return L1Step(networks, lr=config.pretrain_lr, **colour, autocast=runtime.autocast,
                      scaler_G=scalers["G"], feature_loss=feature_loss)
    return GANStep(networks, lr=config.lr, beta1=config.beta1, gan_loss=GANLoss(config.gan_mode).to(runtime.device),
                   **colour, autocast=runtime.autocast, scaler_G=scalers["G"], scaler_D=scalers["D"],
                   feature_loss=feature_loss)


class EpochTotals:
    """Sums of per-batch losses weighted by batch size, so the epoch mean is exact (and survives a resume)."""

    def __init__(self, sums: dict[str, float] | None = None, images: int = 0):
        self.sums = dict.fromkeys(LOSS_COLUMNS, 0.0) if sums is None else dict(sums)
        self.images = images

    def add(self, losses: dict[str, float], n: int) -> None:
        for k, v in losses.items():
            self.sums[k] += v * n
        self.images += n

    def means(self, stage: str) -> dict[str, float]:
        out = {}
        for k in LOSS_COLUMNS:
            if stage == "pretrain" and k in GAN_LOSSES:
                out[k] = float("nan")  # no discriminator in stage 1
            else:
                out[k] = self.sums[k] / self.images if self.images else float("nan")
        return out
