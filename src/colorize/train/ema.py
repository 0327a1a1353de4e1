"""An exponential moving average of the generator's weights (`--ema-decay`).

After every generator update, average <- decay x average + (1 - decay) x weights, parameter by parameter; buffers
(BatchNorm running statistics) are copied, not averaged: they are already running averages of the data. The average
is what the run validates, draws in its sample grids and exports, and it is saved in the checkpoint so a resumed run
continues it bit for bit.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class GeneratorEMA:
    """The averaged copy of `generator`, kept in eval mode and never trained."""

    def __init__(self, generator: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.model = copy.deepcopy(generator).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        for average, weight in zip(self.model.parameters(), generator.parameters(), strict=True):
            average.lerp_(weight.detach(), 1.0 - self.decay)
        for average, buffer in zip(self.model.buffers(), generator.buffers(), strict=True):
            average.copy_(buffer)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)
