"""The pix2pix 70x70 PatchGAN discriminator: one real/fake logit per overlapping 70x70 patch of (L, ab)."""

from __future__ import annotations

import torch
from torch import nn

from colorize.models.init import init_weights
from colorize.models.registry import register_discriminator


@register_discriminator("patch")
class PatchDiscriminator(nn.Module):
    """Conv4x4 s2 64 + LeakyReLU; (Conv-BN-LeakyReLU) 128 s2, 256 s2, 512 s1; Conv 512->1 s1 (raw logits).

    With the defaults a 256x256 input gives a 30x30 map of logits, each seeing a 70x70 patch. `n_layers` is the
    number of convs before the final one besides the first; channel width doubles each time, capped at 8 * num_filters.
    """

    def __init__(self, in_channels: int = 3, num_filters: int = 64, n_layers: int = 3):
        super().__init__()
        if n_layers < 1 or num_filters < 1 or in_channels < 1:
            raise ValueError("in_channels, num_filters and n_layers must be positive")
        self.config = {"in_channels": in_channels, "num_filters": num_filters, "n_layers": n_layers}
        # No norm on the first layer: it would normalise away the input's own statistics (pix2pix).
        layers: list[nn.Module] = [nn.Conv2d(in_channels, num_filters, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        channels = num_filters
        for n in range(1, n_layers + 1):
            out = num_filters * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these keeps the resolution, widening the field
            layers += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2, True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, in_channels, H, W] (L and ab concatenated) -> logits [B, 1, H', W']."""
        return self.model(x)
