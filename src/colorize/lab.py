"""Colour maths: sRGB <-> CIE L*a*b on batched tensors, and the model's [-1, 1] normalisation.

Conversions use kornia (D65 white point, sRGB transfer curve), so they run on whole batches on any device.
Shapes are (B, 3, H, W) for images, (B, 1, H, W) for L and (B, 2, H, W) for ab.
"""

from __future__ import annotations

import kornia.color
import torch

L_SCALE = 50.0  # L in [0, 100]  -> L / 50 - 1 in [-1, 1]
AB_SCALE = 110.0  # a, b in about [-110, 110] for sRGB -> ab / 110 in [-1, 1]


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> L*a*b (L in [0, 100], a and b roughly in [-110, 110])."""
    return kornia.color.rgb_to_lab(rgb.float())


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b -> sRGB clipped to [0, 1]: colours outside the sRGB gamut are clipped per channel."""
    return kornia.color.lab_to_rgb(lab.float(), clip=True)


def normalize_l(l: torch.Tensor) -> torch.Tensor:
    return l / L_SCALE - 1.0


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    return (l_norm + 1.0) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    return ab_norm * AB_SCALE


def l_norm_to_gray_srgb(l_norm: torch.Tensor) -> torch.Tensor:
    """Model-space L (L/50 - 1) -> the sRGB value in [0, 1] of the neutral gray with that lightness."""
    lightness = (l_norm + 1.0) * 50.0
    fy = (lightness + 16.0) / 116.0
    # CIE L* -> relative luminance Y, then the sRGB transfer curve.
    y = torch.where(lightness > 8.0, fy.clamp(min=0.0) ** 3, lightness / 903.3).clamp(0.0, 1.0)
    return torch.where(y > 0.0031308, 1.055 * y.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * y)


def rgb_to_model_space(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB in [0, 1] -> (L in [-1, 1] with shape (B, 1, H, W), ab in [-1, 1] with shape (B, 2, H, W))."""
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:]).clamp(-1.0, 1.0)


def model_space_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """(normalised L, normalised ab) -> sRGB in [0, 1]; the inverse of `rgb_to_model_space`."""
    lab = torch.cat([denormalize_l(l_norm.float()), denormalize_ab(ab_norm.float())], dim=1)
    return lab_to_rgb(lab)


def uint8_to_tensor(images) -> torch.Tensor:
    """(H, W, 3) or (B, H, W, 3) uint8 array/tensor -> (B, 3, H, W) float in [0, 1]."""
    t = torch.as_tensor(images)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def tensor_to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] -> (B, H, W, 3) uint8, rounded."""
    return rgb.clamp(0.0, 1.0).mul(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
