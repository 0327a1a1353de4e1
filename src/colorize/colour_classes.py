"""ab as classification: the a*b* plane cut into in-gamut bins, soft targets, rebalancing, annealed-mean decoding.

The idea of Zhang, Isola and Efros ("Colorful Image Colorization", ECCV 2016): instead of regressing ab, whose L1
or L2 optimum is a dull average of the plausible colours, predict a distribution over quantised ab bins and decode
it with an "annealed mean" between the mean and the mode. Rare (saturated) colours are weighted up in the loss by
the inverse of their smoothed frequency in the training photos, so the model does not settle on the common browns.

Bins are the centres of a 10-unit grid over a*b* that some sRGB colour falls into (a few hundred). Targets are soft:
each pixel's 5 nearest bin centres, Gaussian-weighted with sigma 5. Everything works in L*a*b units here; the
model space's ab is ab / 110 (`colorize.lab`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorize.lab import AB_SCALE, denormalize_ab, rgb_to_lab

GRID = 10.0
NEIGHBOURS, SIGMA = 5, 5.0
#: Rebalancing: the smoothed prior mixed with the uniform distribution, half and half (Zhang et al.'s lambda).
UNIFORM_MIX = 0.5
#: Annealed-mean temperature: 1 is the mean of the distribution, towards 0 its mode (Zhang et al.'s 0.38).
TEMPERATURE = 0.38
_CHUNK = 65_536  # samples soft-encoded at a time when counting colour frequencies


@functools.lru_cache(maxsize=1)
def _bin_centres() -> torch.Tensor:
    levels = torch.linspace(0.0, 1.0, 48)
    rgb = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(3, -1, 1)
    ab = rgb_to_lab(rgb.unsqueeze(0))[0, 1:].reshape(2, -1)
    cells = torch.unique(torch.round(ab / GRID).to(torch.int64), dim=1)
    centres = cells.T.to(torch.float32) * GRID
    return centres[(centres.abs() <= AB_SCALE).all(dim=1)]


def bin_centres() -> torch.Tensor:
    """(Q, 2) a*b* centres of the in-gamut grid bins, in a fixed order (part of what a trained head means)."""
    return _bin_centres().clone()


def soft_encode(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) a*b* -> (B, Q, H, W) soft one-hot: the nearest bins, Gaussian-weighted, summing to 1."""
    b, _, h, w = ab.shape
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    distance, index = torch.cdist(pixels, centres.float()).topk(NEIGHBOURS, dim=1, largest=False)
    weight = torch.softmax(-distance.square() / (2 * SIGMA**2), dim=1)
    target = torch.zeros(pixels.shape[0], centres.shape[0], device=ab.device).scatter_(1, index, weight)
    return target.reshape(b, h, w, -1).permute(0, 3, 1, 2)


def rebalancing_weights(ab_samples: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(Q,) loss weight of each bin: inverse of its smoothed frequency in `ab_samples` (N, 2), mixed with uniform,
    scaled so a pixel of these samples weighs 1 on average (lambda keeps its meaning)."""
    # In chunks: the samples of a run (~1.5 M pixels) as one dense (N, Q) soft encoding would take gigabytes.
    counts = sum(soft_encode(chunk.T.reshape(1, 2, -1, 1), centres).sum(dim=(0, 2, 3))
                 for chunk in ab_samples.split(_CHUNK))
    frequency = counts / len(ab_samples)
    closeness = torch.cdist(centres.float(), centres.float())
    prior = torch.exp(-closeness.square() / (2 * SIGMA**2)) @ frequency
    prior = prior / prior.sum()
    weights = 1.0 / ((1 - UNIFORM_MIX) * prior + UNIFORM_MIX / len(prior))
    return weights / (frequency * weights).sum()


def photo_ab_samples(photos: Sequence[np.ndarray | torch.Tensor], stride: int = 4) -> torch.Tensor:
    """(N, 2) a*b* of every `stride`-th pixel (each way) of uint8 (H, W, 3) photos: what rebalancing counts."""
    samples = []
    for photo in photos:
        rgb = torch.as_tensor(np.asarray(photo)[::stride, ::stride]).permute(2, 0, 1).float() / 255.0
        samples.append(rgb_to_lab(rgb.unsqueeze(0))[0, 1:].reshape(2, -1).T)
    return torch.cat(samples)


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """(B, Q, H, W) logits -> (B, 2, H, W) a*b*: the mean of the distribution sharpened by 1 / temperature."""
    probabilities = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", probabilities, centres.to(probabilities))


class ColourClassLoss(nn.Module):
    """lambda x rebalanced cross-entropy between predicted bin logits (at the logits' resolution) and the soft
    targets of the real ab (model space, area-averaged down to that resolution)."""

    def __init__(self, weight: float, rebalancing: torch.Tensor, centres: torch.Tensor | None = None):
        super().__init__()
        self.weight = weight
        self.register_buffer("centres", bin_centres() if centres is None else centres)
        self.register_buffer("rebalancing", rebalancing)

    def forward(self, logits: torch.Tensor, ab_real_norm: torch.Tensor) -> torch.Tensor:
        ab = denormalize_ab(F.adaptive_avg_pool2d(ab_real_norm.float(), logits.shape[-2:]))
        target = soft_encode(ab, self.centres)
        # Each pixel weighs as its most likely true bin (Zhang et al.'s rule).
        pixel_weight = self.rebalancing[target.argmax(dim=1)]
        cross_entropy = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
        return self.weight * (pixel_weight * cross_entropy).mean()
