"""Old-photo degradations of the lightness channel: fading, blur, sensor noise, film grain and JPEG artefacts.

Real black-and-white photos reach the model scanned, faded and recompressed; the training photos are clean. Training
on degraded L (the target ab stays the clean photo's) teaches the model to colour what it will meet, and scoring
on a degraded copy of the val photos measures it. Everything works on a batch of normalised L in the model's
[-1, 1] space, on the gray sRGB values a person would see, and draws its randomness from the generator it is given,
so a seeded run (and a resumed one) degrades the same photos the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.enhance
import kornia.filters
import torch

from colorize.lab import l_norm_to_gray_srgb, normalize_l, rgb_to_lab


@dataclass(frozen=True)
class Degradations:
    """How often and how hard each degradation hits; each applies to a photo independently with its probability."""

    fade: float = 0.5  # contrast squeezed towards mid-gray, blacks lifted
    blur: float = 0.4  # out-of-focus lens or a soft print
    noise: float = 0.3  # per-pixel sensor/scanner noise
    grain: float = 0.3  # film grain: blurred noise, coarser than the pixels
    jpeg: float = 0.5  # recompressed scans
    max_blur_sigma: float = 1.5
    max_noise: float = 0.04  # standard deviation, gray values in [0, 1]
    min_jpeg_quality: int = 20

    def __post_init__(self) -> None:
        for name in ("fade", "blur", "noise", "grain", "jpeg"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"degradation probability {name} must be in [0, 1], got {p}")
        if not 1 <= self.min_jpeg_quality <= 100:
            raise ValueError(f"min_jpeg_quality must be in 1..100, got {self.min_jpeg_quality}")


def l_to_gray(l_norm: torch.Tensor) -> torch.Tensor:
    """Normalised L (B, 1, H, W) -> the gray sRGB value in [0, 1] it displays as."""
    return l_norm_to_gray_srgb(l_norm.float())


def gray_to_l(gray: torch.Tensor) -> torch.Tensor:
    """Gray sRGB in [0, 1] (B, 1, H, W) -> normalised L."""
    return normalize_l(rgb_to_lab(gray.clamp(0.0, 1.0).repeat(1, 3, 1, 1))[:, :1])


def _chosen(p: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) < p


def _uniform(lo: float, hi: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator)


def degrade_gray(gray: torch.Tensor, generator: torch.Generator, spec: Degradations = Degradations()) -> torch.Tensor:
    """Gray (B, 1, H, W) in [0, 1] -> a degraded copy; photos that draw no degradation come back unchanged."""
    if gray.ndim != 4 or gray.shape[1] != 1:
        raise ValueError(f"expected a (B, 1, H, W) gray batch, got {tuple(gray.shape)}")
    out = gray.float().clone()
    n = out.shape[0]
    # Every draw happens whether or not it is used, so one photo's luck never shifts another's random stream.
    fade_on, blur_on, noise_on, grain_on, jpeg_on = (
        _chosen(p, n, generator) for p in (spec.fade, spec.blur, spec.noise, spec.grain, spec.jpeg))
    contrast, lift = _uniform(0.5, 0.9, n, generator), _uniform(0.0, 0.15, n, generator)
    sigma = _uniform(0.3, spec.max_blur_sigma, n, generator)
    noise_std, grain_std = _uniform(0.005, spec.max_noise, n, generator), _uniform(0.01, spec.max_noise, n, generator)
    quality = _uniform(float(spec.min_jpeg_quality), 90.0, n, generator)
    noise = torch.randn(out.shape, generator=generator)
    grain = torch.randn(out.shape, generator=generator)

    view = (n, 1, 1, 1)
    if fade_on.any():
        faded = lift.view(view) + (out - 0.5) * contrast.view(view) + 0.5 * (1 - lift.view(view))
        out = torch.where(fade_on.view(view), faded, out)
    if blur_on.any():
        sigmas = torch.stack([sigma, sigma], dim=1)
        out = torch.where(blur_on.view(view), kornia.filters.gaussian_blur2d(out, (7, 7), sigmas), out)
    if noise_on.any():
        out = out + noise * (noise_std * noise_on).view(view)
    if grain_on.any():
        coarse = kornia.filters.gaussian_blur2d(grain, (5, 5), (1.0, 1.0)) * 2.5  # blur shrinks the std
        out = out + coarse * (grain_std * grain_on).view(view)
    out = out.clamp(0.0, 1.0)
    if jpeg_on.any():
        coded = kornia.enhance.jpeg_codec_differentiable(out.repeat(1, 3, 1, 1), quality).mean(dim=1, keepdim=True)
        out = torch.where(jpeg_on.view(view), coded.clamp(0.0, 1.0), out)
    return out


def degrade_l(l_norm: torch.Tensor, generator: torch.Generator, spec: Degradations = Degradations()) -> torch.Tensor:
    """Normalised L -> degraded normalised L, same shape, dtype and memory layout."""
    degraded = gray_to_l(degrade_gray(l_to_gray(l_norm), generator, spec)).to(l_norm.dtype)
    return degraded.contiguous(memory_format=torch.channels_last) if not l_norm.is_contiguous() else degraded
