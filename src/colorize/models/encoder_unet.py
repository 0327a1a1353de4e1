"""U-Net whose down path is a pretrained ImageNet classifier: the generator that does well on small data.

L goes in, ab comes out. The backbone sees the L channel as the gray photo it was trained on: L* is turned into the
sRGB gray value (exact for neutral colours), replicated to 3 channels and normalised the way the backbone's ImageNet
training did. Replicating (instead of summing the stem's RGB weights into a 1-channel conv) keeps the backbone
byte-identical to the pretrained classifier and works for per-channel normalisations (ResNet) too; the extra cost is
one 3-channel stem conv, under 1% of the network's FLOPs.

A light decoder climbs back from stride 32 to stride 2: at each scale, upsample x2, concatenate the backbone's
features of that scale, two conv3x3-BN-ReLU. The head upsamples to full resolution, concatenates L itself (so colour
edges can follow the photo's edges) and maps to ab with one conv3x3 + Tanh. No conv block runs at full resolution:
colour is low-frequency, and such a block (16 channels + L) cost 0.62 of 2.80 GFLOPs at 256 px, with a 17-channel
input that is off oneDNN's fast path.

With `hints=True` the network also reads user colour hints, the (B, 3, H, W) planes [a, b, mask] of
`colorize.hints`, through two paths that start at zero (`HintPaths`): a 1x1 conv whose output is added to the
backbone's normalised RGB input, so the ImageNet encoder sees coloured patches (which it understands) and spreads
them along objects; and a 3x3 conv added to the head's output before Tanh, the same as concatenating the planes to
the head's input with zero weights for them. At zero the hint model computes exactly what its hint-free twin does,
so it can start from a hint-free model's weights (`load_hint_free_state`).

With `colour_classes=True` the decoder stops at stride 4, where a 1x1 conv predicts logits over the in-gamut ab bins
of `colorize.colour_classes`; their annealed mean, upsampled to full resolution, is the output, so inference and
export see the same (L -> ab) network. `forward_classes` also returns the logits for the training loss, and
`load_regression_state` starts such a model from a regression twin's encoder and decoder.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorize.colour_classes import annealed_mean, bin_centres
from colorize.hints import HINT_CHANNELS
from colorize.lab import AB_SCALE, l_norm_to_gray_srgb
from colorize.models.backbones import ENCODER_NAMES, build_backbone, normalization
from colorize.models.init import init_weights
from colorize.models.registry import register_generator
from colorize.models.unet import check_input

DEFAULT_DECODER_CHANNELS = (128, 64, 32, 16)
#: bilinear is the default: PixelShuffle measured 5-12 % faster (benchmarks/models.py, README "Which generator to
#: pick"), a gain within the noise of a shared machine, and tends to checkerboard artefacts.
UPSAMPLE_MODES = ("bilinear", "pixelshuffle")


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DecoderBlock(nn.Module):
    """Upsample x2, concatenate the skip, two conv3x3-BN-ReLU.

    "bilinear": parameter-free interpolation, the convs see all input channels. "pixelshuffle": a 1x1 conv to
    4*out channels rearranged into a 2x larger map of `out` channels, so the convs after it are narrower.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, upsample: str):
        super().__init__()
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.upsample_mode = upsample
        if upsample == "pixelshuffle":
            self.upsample = nn.Sequential(nn.Conv2d(in_channels, out_channels * 4, 1), nn.PixelShuffle(2))
            up_channels = out_channels
        else:
            self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            up_channels = in_channels
        self.convs = nn.Sequential(
            _conv_bn_relu(up_channels + skip_channels, out_channels), _conv_bn_relu(out_channels, out_channels)
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.upsample(x), skip], dim=1))


#: The hint planes are multiplied by this before the hint paths' convs. Adam moves a weight by about the learning
#: rate per step whatever its gradient, so from zero at 1e-4 the paths took hundreds of steps to reach weights of
#: 0.02; the scale makes each step count 10x (a learning rate multiplier for these weights alone). Part of what saved
#: hint weights mean: changing it needs a new config key.
HINT_INPUT_SCALE = 10.0


class HintPaths(nn.Module):
    """Where colour hints enter the U-Net: into the backbone's input and into the head, both zero at the start."""

    def __init__(self, out_channels: int):
        super().__init__()
        # skip_init: no draw from the RNG, so the rest of a seeded run (e.g. D's init) is the hint-free run's.
        self.to_input = nn.utils.skip_init(nn.Conv2d, HINT_CHANNELS, 3, 1)
        self.to_head = nn.utils.skip_init(nn.Conv2d, HINT_CHANNELS, out_channels, 3, padding=1, bias=False)
        for p in self.parameters():
            nn.init.zeros_(p)

    def input_offset(self, hints: torch.Tensor) -> torch.Tensor:
        """What the hints add to the backbone's normalised RGB input."""
        return self.to_input(hints * HINT_INPUT_SCALE)

    def head_offset(self, hints: torch.Tensor) -> torch.Tensor:
        """What the hints add to the head's output before Tanh."""
        return self.to_head(hints * HINT_INPUT_SCALE)


class EncoderUNetGenerator(nn.Module):
    """Pretrained-backbone U-Net: L [B,1,H,W] (+ hint planes [B,3,H,W] with hints=True) -> ab [B,2,H,W] in
    [-1, 1]; H and W multiples of 32."""

    size_multiple = 32

    def __init__(
        self,
        encoder: str = "efficientnet_lite0",
        pretrained: bool = True,
        encoder_weights: str | Path | None = None,
        decoder_channels: tuple[int, ...] | list[int] = DEFAULT_DECODER_CHANNELS,
        upsample: str = "bilinear",
        out_channels: int = 2,
        hints: bool = False,
        colour_classes: bool = False,
    ):
        super().__init__()
        if colour_classes and (hints or out_channels != 2):
            raise ValueError("colour_classes predicts ab as classes: it takes no hints and no other out_channels")
        if encoder not in ENCODER_NAMES:
            raise ValueError(f"unknown encoder {encoder!r}; known: {', '.join(ENCODER_NAMES)}")
        decoder_channels = tuple(int(c) for c in decoder_channels)
        if len(decoder_channels) != 4 or min(decoder_channels) < 1:
            raise ValueError(f"decoder_channels needs 4 positive widths (strides 16, 8, 4, 2), got {decoder_channels}")
        self.arch = encoder
        self.config = {
            "encoder": encoder,
            "pretrained": bool(pretrained),
            "encoder_weights": None if encoder_weights is None else str(encoder_weights),
            "decoder_channels": list(decoder_channels),
            "upsample": upsample,
            "out_channels": out_channels,
            "hints": bool(hints),
        }
        if colour_classes:  # only when on: saved configs of regression models stay what they were
            self.config["colour_classes"] = True
        self.colour_classes = bool(colour_classes)
        self.takes_hints = bool(hints)
        self.encoder = build_backbone(encoder, pretrained=pretrained, weights_path=encoder_weights)
        norm = normalization(encoder)
        # Buffers, not constants, so they follow .to(device) and export with the graph.
        self.register_buffer("rgb_mean", torch.tensor(norm.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rgb_std", torch.tensor(norm.std).view(1, 3, 1, 1), persistent=False)

        skips = self.encoder.channels  # strides 2, 4, 8, 16, 32
        blocks, in_channels = [], skips[4]
        for skip, out in zip(reversed(skips[:4]), decoder_channels):
            blocks.append(DecoderBlock(in_channels, skip, out, upsample))
            in_channels = out
        if colour_classes:
            # Classes at stride 4, like Zhang et al.'s: the logits at full resolution would be (B, Q, H, W) with
            # Q ~ 260, several times the memory and time of the rest of the network on a CPU.
            blocks = blocks[:3]
            in_channels = decoder_channels[2]
            self.register_buffer("class_centres", bin_centres(), persistent=False)
            self.class_head = nn.Conv2d(in_channels, len(self.class_centres), 1)
            init_weights(self.class_head)  # near-uniform logits: the annealed mean starts near the bins' mean
        else:
            self.head = nn.Sequential(nn.Conv2d(in_channels + 1, out_channels, 3, padding=1), nn.Tanh())
            init_weights(self.head)  # N(0, 0.02) makes the untrained output close to 0: gray, the safe start
        self.decoder = nn.ModuleList(blocks)
        init_weights(self.decoder)
        self.hint_paths = HintPaths(out_channels) if hints else None
        self._encoder_frozen = False

    def forward(self, l_norm: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.colour_classes:
            return self.forward_classes(l_norm, hints)[0]
        check_input(l_norm, self.size_multiple)
        hints = self._hint_planes(l_norm, hints)
        x = self._decode(l_norm, hints)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        conv, tanh = self.head
        out = conv(torch.cat([x, l_norm], dim=1))
        if hints is not None:
            out = out + self.hint_paths.head_offset(hints)
        return tanh(out)

    def _decode(self, l_norm: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
        """The decoder's last features: at stride 2, or at stride 4 for a colour-class model (3 blocks)."""
        rgb = l_norm_to_gray_srgb(l_norm).expand(-1, 3, -1, -1)
        backbone_input = (rgb - self.rgb_mean) / self.rgb_std
        if hints is not None:
            backbone_input = backbone_input + self.hint_paths.input_offset(hints)
        features = self.encoder(backbone_input)
        x = features[4]
        for block, skip in zip(self.decoder, reversed(features[:4])):
            x = block(x, skip)
        return x

    def forward_classes(self, l_norm: torch.Tensor,
                        hints: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A colour-class model's (ab in [-1, 1] at full resolution, bin logits at stride 4): the loss needs both."""
        if not self.colour_classes:
            raise ValueError("forward_classes is for a generator built with colour_classes=True")
        check_input(l_norm, self.size_multiple)
        logits = self.class_head(self._decode(l_norm, self._hint_planes(l_norm, hints)))
        ab = annealed_mean(logits, self.class_centres) / AB_SCALE
        ab = F.interpolate(ab, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        return ab.clamp(-1.0, 1.0).to(l_norm.dtype), logits

    def load_regression_state(self, state: dict[str, torch.Tensor]) -> None:
        """Start a colour-class model from a regression twin's weights: its encoder and decoder up to stride 4
        (the class head starts fresh); any other misfit is an error, as with strict."""
        if not self.colour_classes:
            raise ValueError("load_regression_state is for colour-class models; use load_state_dict")
        unused = {k for k in state if k.startswith(("head.", "decoder.3."))}
        missing, unexpected = self.load_state_dict({k: v for k, v in state.items() if k not in unused}, strict=False)
        class_keys = {f"class_head.{name}" for name in self.class_head.state_dict()}
        wrong = sorted(set(missing) - class_keys) + sorted(unexpected)
        if wrong or not unused:
            raise RuntimeError(f"not the weights of a regression twin of this generator; keys that do not fit: {wrong}")

    def _hint_planes(self, l_norm: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor | None:
        """The hint planes forward uses: None for a hint-free model, zeros (no hint) when a hint model gets none."""
        if not self.takes_hints:
            if hints is not None:
                raise ValueError("this generator takes no colour hints (it was built with hints=False)")
            return None
        b, _, h, w = l_norm.shape
        if hints is None:
            # Zeros, not a skipped path: after training the paths' biases make "no hint" a non-zero input too.
            return l_norm.new_zeros(b, HINT_CHANNELS, h, w)
        if hints.dim() != 4 or tuple(hints.shape) != (b, HINT_CHANNELS, h, w):
            raise ValueError(f"hint planes must be (B, {HINT_CHANNELS}, H, W) = {(b, HINT_CHANNELS, h, w)} like the "
                             f"L input, got {tuple(hints.shape)}")
        return hints.to(l_norm.dtype)

    def load_hint_free_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load the weights of a hint-free model of the same config; the hint paths keep their zero start.

        Anything else that does not fit (a missing or unexpected key, a wrong shape) is an error, as with strict.
        """
        if not self.takes_hints:
            raise ValueError("load_hint_free_state is for hint models; use load_state_dict")
        missing, unexpected = self.load_state_dict(state, strict=False)
        hint_keys = {f"hint_paths.{name}" for name in self.hint_paths.state_dict()}
        wrong = sorted(set(missing) - hint_keys) + sorted(unexpected) + sorted(hint_keys & set(state))
        if wrong:
            raise RuntimeError(f"not the weights of a hint-free twin of this generator; keys that do not fit: {wrong}")

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Stop (or restart) training the backbone: no gradients, and its BatchNorm statistics stay fixed."""
        self._encoder_frozen = frozen
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    @property
    def encoder_frozen(self) -> bool:
        return self._encoder_frozen

    def train(self, mode: bool = True) -> "EncoderUNetGenerator":
        super().train(mode)
        if self._encoder_frozen:
            self.encoder.eval()  # running stats would otherwise drift on the new data while weights are fixed
        return self


# One architecture name per backbone; the name decides the encoder.
for _encoder in ENCODER_NAMES:
    register_generator(_encoder, encoder=_encoder)(EncoderUNetGenerator)
