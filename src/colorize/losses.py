"""Training losses: the conditional-GAN loss (vanilla or least squares) and the L1 reconstruction term."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

GANMode = Literal["vanilla", "lsgan"]
#: pix2pix weights the L1 term 100x against the GAN term.
DEFAULT_LAMBDA_L1 = 100.0


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

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        prediction = prediction.float()  # losses in fp32 even when the network ran under bf16 autocast
        label = self.real_label if target_is_real else self.fake_label
        return self.criterion(prediction, label.expand_as(prediction))


class L1Loss(nn.Module):
    """lambda x mean |prediction - target|: the term that keeps the colours close to the real ones."""

    def __init__(self, weight: float = DEFAULT_LAMBDA_L1):
        super().__init__()
        self.weight = float(weight)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.weight * torch.nn.functional.l1_loss(prediction.float(), target.float())
