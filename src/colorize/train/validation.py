"""What a run measures at each epoch's end: val_l1 over the validation photos, and the sample grid."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from colorize.data import EpochSampler, PhotoDataset, batch_to_model_space
from colorize.train.logging import make_sample_grid
from colorize.train.runtime import Runtime


@torch.no_grad()
def validation_l1(generator: nn.Module, dataset: PhotoDataset, runtime: Runtime, loader_factory) -> float:
    """Mean |predicted ab - real ab| over `dataset` in eval mode, in normalised ab units (x110 for L*a*b units).

    `loader_factory(dataset, sampler)` batches the photos as the run does. Leaves `generator` in eval mode.
    """
    generator.eval()
    total, count = 0.0, 0
    for batch in loader_factory(dataset, EpochSampler(len(dataset), shuffle=False)):
        l_norm, ab_real = batch_to_model_space(batch, runtime.device, runtime.channels_last)
        with runtime.autocast():
            ab_fake = generator(l_norm)
        total += (ab_fake.float() - ab_real).abs().sum().item()
        count += ab_real.numel()
    return total / count


@torch.no_grad()
def sample_grid(generator: nn.Module, dataset: PhotoDataset, count: int, runtime: Runtime) -> np.ndarray | None:
    """Rows of gray | predicted | real for the first `count` photos of `dataset` (None when there are none).

    Leaves `generator` in eval mode.
    """
    from colorize.lab import model_space_to_rgb

    n = min(count, len(dataset))
    if n == 0:
        return None
    batch = torch.stack([dataset[i] for i in range(n)])
    l_norm, ab_real = batch_to_model_space(batch, runtime.device, runtime.channels_last)
    generator.eval()
    with runtime.autocast():
        ab_fake = generator(l_norm).float()
    gray = model_space_to_rgb(l_norm, torch.zeros_like(ab_real))
    return make_sample_grid(gray, model_space_to_rgb(l_norm, ab_fake), model_space_to_rgb(l_norm, ab_real))
