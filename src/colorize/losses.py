"""Training losses: the conditional-GAN loss (vanilla or least squares) and the L1 reconstruction term."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

GANMode = Literal["vanilla", "lsgan"]


class GANLoss(nn.Module):
    """Loss of a discriminator's logits against an all-real or all-fake target.

    `vanilla` is binary cross-entropy on logits (the original GAN), `lsgan` the mean squared error of the raw
    outputs against 1 / 0 (least-squares GAN, steadier gradients). The target labels are buffers so they follow
    the module to any device and dtype.
    """

    def __init__(self, mode: GANMode = "vanilla", real_label: float = 1.0, fake_label: float = 0.0):
        super().__init__()
        if mode == "vanilla":
            self.criterion: nn.Module = nn.BCEWithLogitsLoss()
        elif mode == "lsgan":
            self.criterion = nn.MSELoss()
        else:
            raise ValueError(f"unknown GAN loss mode {mode!r}; choose 'vanilla' or 'lsgan'")
        self.mode = mode
        self.register_buffer("real_label", torch.tensor(float(real_label)))
        self.register_buffer("fake_label", torch.tensor(float(fake_label)))

    def forward(self, prediction: torch.Tensor | list[torch.Tensor], target_is_real: bool) -> torch.Tensor:
        """The loss of one logit map, or the mean of the per-map losses of a multi-scale discriminator's list."""
        if isinstance(prediction, (list, tuple)):
            if not prediction:
                raise ValueError("the discriminator returned an empty list of logit maps")
            return torch.stack([self._one(p, target_is_real) for p in prediction]).mean()
        return self._one(prediction, target_is_real)

    def _one(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        prediction = prediction.float()  # losses in fp32 even when the network ran under bf16 autocast
        label = self.real_label if target_is_real else self.fake_label
        return self.criterion(prediction, label.expand_as(prediction))


class L1Loss(nn.Module):
    """lambda x mean |prediction - target|: the term that keeps the colours close to the real ones.

    The weight has no default here: a run's lambda is TrainConfig.lambda_l1 (100 as in pix2pix unless set).
    """

    def __init__(self, weight: float):
        super().__init__()
        self.weight = float(weight)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.weight * torch.nn.functional.l1_loss(prediction.float(), target.float())


class FeatureLoss(nn.Module):
    """weight x distance between frozen ImageNet features of (L, predicted ab) and (L, real ab).

    L1 on ab treats every wrong colour alike and, averaged over plausible answers, pulls towards brown; features
    that separate objects penalise a colour that makes the object look like something else. Each feature map is
    unit-normalised over channels (so no scale dominates by magnitude), and the squared distance is averaged over
    positions and the scales at strides 4, 8 and 16.
    """

    def __init__(self, weight: float, backbone: str = "efficientnet_lite0", scales: tuple[int, ...] = (1, 2, 3),
                 pretrained: bool = True):
        super().__init__()
        from colorize.models.projected import FrozenImageFeatures  # kornia and the backbone only when used

        self.weight = float(weight)
        self.scales = tuple(scales)
        self.features = FrozenImageFeatures(backbone, pretrained=pretrained)

    @staticmethod
    def _unit(f: torch.Tensor) -> torch.Tensor:
        f = f.float()
        return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-6)

    def forward(self, l_norm: torch.Tensor, ab_fake: torch.Tensor, ab_real: torch.Tensor) -> torch.Tensor:
        fake = self.features(torch.cat([l_norm, ab_fake], dim=1))
        with torch.no_grad():
            real = self.features(torch.cat([l_norm, ab_real], dim=1))
        distances = [(self._unit(fake[s]) - self._unit(real[s])).pow(2).sum(dim=1).mean() for s in self.scales]
        return self.weight * torch.stack(distances).mean()
