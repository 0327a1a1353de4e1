"""The pix2pix U-Net generator, built from the middle out.

The innermost block (the bottleneck) is made first; every further block wraps the previous one, so a block sees its
input, hands the downsampled features to its inner block, and concatenates its own input onto the upsampled result
(the skip connection). Dropout in the three blocks just outside the bottleneck is the generator's only noise source,
as in pix2pix.
"""

from __future__ import annotations

import torch
from torch import nn

from colorize.models.init import init_weights
from colorize.models.registry import register_generator

ARCH = "pix2pix_unet"
#: blocks below the outermost that widen the features (ngf -> 2 ngf -> 4 ngf -> 8 ngf); the rest stay at 8 ngf.
_WIDENING_BLOCKS = 3
#: pix2pix puts dropout in this many 8*ngf blocks around the bottleneck.
_DROPOUT_BLOCKS = 3
MIN_DOWNS = _WIDENING_BLOCKS + 2


def check_input(l_norm: torch.Tensor, size_multiple: int, channels: int = 1) -> None:
    """A clear error for input the generators cannot take (instead of a shape mismatch deep inside)."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return  # shapes are symbolic while exporting/compiling; the check is for eager calls
    if l_norm.dim() != 4 or l_norm.shape[1] != channels:
        raise ValueError(f"generator input must have shape [B, {channels}, H, W], got {tuple(l_norm.shape)}")
    h, w = l_norm.shape[-2:]
    if h % size_multiple or w % size_multiple:
        raise ValueError(f"generator input H and W must be multiples of {size_multiple}, got {h}x{w}")


class UNetBlock(nn.Module):
    """One level of the U-Net: down (conv 4x4 s2) -> inner block -> up (transposed conv 4x4 s2), plus the skip.

    `kind` is "innermost" (no inner block, no norm after its down conv since its output is 1x1 at 256 px),
    "middle", or "outermost" (no norm, no skip concatenation, Tanh output).
    """

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        inner: nn.Module | None = None,
        *,
        kind: str = "middle",
        in_channels: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if kind not in ("innermost", "middle", "outermost"):
            raise ValueError(f"unknown U-Net block kind {kind!r}")
        if (inner is None) != (kind == "innermost"):
            raise ValueError("exactly the innermost block has no inner block")
        self.kind = kind
        in_channels = outer_channels if in_channels is None else in_channels
        # The inner block returns its input concatenated with its output, hence twice the channels coming up.
        up_in = inner_channels if kind == "innermost" else inner_channels * 2
        # A conv followed by BatchNorm needs no bias; like pix2pix, only the outermost block's convs have one.
        down_conv = nn.Conv2d(in_channels, inner_channels, 4, stride=2, padding=1, bias=kind == "outermost")
        if kind == "outermost":
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, 4, stride=2, padding=1)
            layers = [down_conv, inner, nn.ReLU(True), up_conv, nn.Tanh()]
        elif kind == "innermost":
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, 4, stride=2, padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(True), up_conv, nn.BatchNorm2d(outer_channels)]
        else:
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, 4, stride=2, padding=1, bias=False)
            # Not in place: the skip connection must carry this block's input unchanged.
            layers = [nn.LeakyReLU(0.2), down_conv, nn.BatchNorm2d(inner_channels), inner, nn.ReLU(True),
                      up_conv, nn.BatchNorm2d(outer_channels)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "outermost":
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)


@register_generator(ARCH)
class UNetGenerator(nn.Module):
    """pix2pix U-Net: `num_downs` stride-2 levels (8 at 256 px, so the bottleneck is 1x1), L in, ab out (Tanh)."""

    arch = ARCH
    takes_hints = False

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        num_downs: int = 8,
        num_filters: int = 64,
        dropout: float = 0.5,
    ):
        super().__init__()
        if num_downs < MIN_DOWNS:
            raise ValueError(f"num_downs must be at least {MIN_DOWNS}, got {num_downs}")
        if num_filters < 1 or in_channels < 1 or out_channels < 1:
            raise ValueError("in_channels, out_channels and num_filters must be positive")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.config = {
            "in_channels": in_channels,
            "out_channels": out_channels,
            "num_downs": num_downs,
            "num_filters": num_filters,
            "dropout": dropout,
        }
        self.size_multiple = 2**num_downs
        widest = num_filters * 2**_WIDENING_BLOCKS

        block = UNetBlock(widest, widest, kind="innermost")
        n_plain = num_downs - MIN_DOWNS  # 8*ngf blocks between the bottleneck and the widening blocks
        for i in range(n_plain):
            # Dropout goes into the n_plain blocks nearest the bottleneck, at most _DROPOUT_BLOCKS of them.
            block = UNetBlock(widest, widest, block, dropout=dropout if i < _DROPOUT_BLOCKS else 0.0)
        for level in reversed(range(_WIDENING_BLOCKS)):
            block = UNetBlock(num_filters * 2**level, num_filters * 2 ** (level + 1), block)
        self.model = UNetBlock(out_channels, num_filters, block, kind="outermost", in_channels=in_channels)
        init_weights(self)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        check_input(l_norm, self.size_multiple, self.config["in_channels"])
        return self.model(l_norm)
