"""pix2pix weight initialisation: N(0, 0.02) conv weights, BatchNorm weight N(1, 0.02), all biases 0."""

from __future__ import annotations

from torch import nn

INIT_STD = 0.02

_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)
_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm2d, nn.GroupNorm)


def _init_one(module: nn.Module, std: float) -> None:
    if isinstance(module, _CONV_TYPES):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, _NORM_TYPES) and getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def init_weights(module: nn.Module, std: float = INIT_STD) -> nn.Module:
    """Initialise every conv / linear / norm layer inside `module` in place; returns `module` for chaining."""
    for m in module.modules():
        _init_one(m, std)
    return module
