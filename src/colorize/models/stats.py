"""Size and cost of the registered generators: parameters, FLOPs, and whether pretrained weights are here."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from colorize.models.backbones import ENCODER_NAMES, BackboneUnavailableError, pretrained_available
from colorize.models.registry import build_generator, generator_options, list_architectures


@dataclass(frozen=True)
class ArchitectureInfo:
    arch: str
    params: int | None  # None when the architecture cannot be built on this machine
    flops: int | None  # forward FLOPs for one image at `size` (a multiply-add counts as 2)
    size: int
    pretrained: bool | None  # ImageNet weights available locally; None for architectures without a backbone
    note: str = ""


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, size: int = 256, batch: int = 1) -> int:
    """Forward FLOPs of `model` on an L batch [batch, 1, size, size], counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(batch, 1, size, size, device=device))
    return counter.get_total_flops()


def describe_architecture(arch: str, size: int = 256) -> ArchitectureInfo:
    """Parameters and FLOPs of `arch` with its default config. Built on the meta device: no memory, no weights."""
    pretrained = pretrained_available(arch) if arch in ENCODER_NAMES else None
    # FLOPs and parameters do not depend on the ImageNet weights: never load them here.
    config = {"pretrained": False} if "pretrained" in (generator_options(arch) or ()) else {}
    try:
        with torch.device("meta"):
            model = build_generator(arch, **config).eval()
    except BackboneUnavailableError as exc:
        return ArchitectureInfo(arch, None, None, size, pretrained, note=str(exc).split(";")[0])
    try:
        flops = count_flops(model, size)
    except ValueError as exc:  # e.g. the pix2pix U-Net at a size that is not a multiple of 256
        return ArchitectureInfo(arch, count_parameters(model), None, size, pretrained, note=str(exc))
    return ArchitectureInfo(arch, count_parameters(model), flops, size, pretrained)


def describe_architectures(size: int = 256) -> list[ArchitectureInfo]:
    return [describe_architecture(arch, size) for arch in list_architectures()]
