"""Trivial colorizers that give every evaluation a floor: `gray` (ab = 0) and `mean-ab` (one constant ab).

A baseline is a `Colorizer` whose network predicts one constant (a, b) everywhere, so it renders through exactly
the path a model does (render-size copy, full-resolution recombination with the photo's own L, gamut mapping
towards gray, alpha, EXIF) and one table compares one path. A real model that does not beat them on CIEDE2000 /
PSNR is not predicting colour; one that does not beat them on colourfulness is just safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from colorize.images import find_images, is_grayscale, load_image
from colorize.infer import Colorizer
from colorize.lab import AB_SCALE

#: Mean (a, b) of the bundled model's training photos (../shared/datasets bsds500/train + imagenet-sample/train):
#: 980 colour photos (the 20 that `is_grayscale` calls gray skipped), each reduced to a 256-px short side
#: (bicubic), every pixel weighted equally, L*a*b via colorize.lab (kornia, D65). Recompute with
#: `mean_ab_stats(folder)`. For comparison, imagenet-sample/train alone gives (1.64, 8.22) and bsds500/train alone
#: (-3.00, 10.65). Slightly warm (b > 0), as natural photos are.
DEFAULT_MEAN_AB: tuple[float, float] = (0.5996, 8.7692)
DEFAULT_MEAN_AB_SOURCE = "bsds500/train + imagenet-sample/train (980 colour photos, 256-px short side, pixel-weighted)"

#: Photos are reduced to this short side before their ab is averaged: the mean hardly depends on resolution.
MEAN_AB_SHORT_SIDE = 256


class ConstantAb(nn.Module):
    """A generator that predicts the same (a, b) at every pixel, whatever the lightness it is given."""

    arch = "constant-ab"
    size_multiple = 1

    def __init__(self, ab: tuple[float, float]):
        super().__init__()
        self.register_buffer("ab_norm", torch.tensor(ab, dtype=torch.float32) / AB_SCALE)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self.ab_norm.view(1, 2, 1, 1).expand(l_norm.shape[0], 2, *l_norm.shape[2:])


class ConstantAbBaseline(Colorizer):
    """A Colorizer painting one constant (a, b) over the input's lightness; `name` is the class's."""

    name = "constant-ab"

    def __init__(self, ab: tuple[float, float], **options):
        values = tuple(float(v) for v in ab)
        if len(values) != 2 or not all(np.isfinite(values)):
            raise ValueError(f"a baseline's ab must be two finite numbers, got {ab!r}")
        # Torch explicitly: a constant needs no exported graph, whatever the default backend becomes.
        super().__init__(ConstantAb(values), name=options.pop("name", type(self).name), backend="torch", **options)
        self.ab = values


class GrayBaseline(ConstantAbBaseline):
    """Predicts no colour at all (a = b = 0): the input's lightness as a neutral gray photo."""

    name = "gray"

    def __init__(self, **options):
        super().__init__((0.0, 0.0), **options)


class MeanAbBaseline(ConstantAbBaseline):
    """Paints every pixel with one constant (a, b): the mean colour of a training set.

    With no arguments it uses `DEFAULT_MEAN_AB` (see there for how it was computed); `from_folder` computes the
    mean from your own training photos.
    """

    name = "mean-ab"

    def __init__(self, ab: tuple[float, float] | None = None, **options):
        super().__init__(DEFAULT_MEAN_AB if ab is None else ab, **options)

    @classmethod
    def from_folder(cls, folder: str | Path, limit: int | None = None, progress: bool = False) -> "MeanAbBaseline":
        return cls(compute_mean_ab(folder, limit=limit, progress=progress))


@dataclass
class MeanAbStats:
    ab: tuple[float, float]
    n_photos: int  # colour photos averaged
    n_grayscale: int  # skipped: no colour to average
    n_unreadable: int  # skipped: not a usable image


def mean_ab_stats(folder: str | Path, limit: int | None = None, progress: bool = False) -> MeanAbStats:
    """Mean (a, b) over every pixel of the colour photos in `folder`, each reduced to a 256-px short side.

    Grayscale photos are skipped (as training skips them), and so are unreadable files. `limit` looks at the first
    N files only. Raises ValueError when no colour photo is left.
    """
    import torch

    from colorize.lab import rgb_to_lab, uint8_to_tensor

    paths = find_images(folder)
    if limit is not None:
        paths = paths[:limit]
    if progress:
        from tqdm import tqdm

        paths = tqdm(paths, desc="mean ab", unit="img")
    total = np.zeros(2, np.float64)
    pixels = n_photos = n_gray = n_bad = 0
    for path in paths:
        try:
            img = load_image(path).rgb
        except ValueError:
            n_bad += 1
            continue
        scale = MEAN_AB_SHORT_SIDE / min(img.size)
        if scale < 1:
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BICUBIC)
        arr = np.array(img, dtype=np.uint8)  # a writable copy, which torch.as_tensor wants
        if is_grayscale(arr):
            n_gray += 1
            continue
        with torch.inference_mode():
            ab = rgb_to_lab(uint8_to_tensor(arr))[0, 1:].double()
        total += ab.sum(dim=(1, 2)).numpy()
        pixels += ab.shape[1] * ab.shape[2]
        n_photos += 1
    if pixels == 0:
        raise ValueError(f"{folder}: no colour photos to compute a mean ab from")
    a, b = total / pixels
    return MeanAbStats((float(a), float(b)), n_photos, n_gray, n_bad)


def compute_mean_ab(folder: str | Path, limit: int | None = None, progress: bool = False) -> tuple[float, float]:
    """The (a, b) of `mean_ab_stats`."""
    return mean_ab_stats(folder, limit=limit, progress=progress).ab


#: The baseline names `colorize compare` accepts besides checkpoint paths.
BASELINES = {"gray": GrayBaseline, "mean-ab": MeanAbBaseline}


def build_baseline(name: str, mean_ab_data: str | Path | None = None):
    """A baseline by name; `mean-ab` is computed from `mean_ab_data` when given, else uses the default."""
    if name == "gray":
        return GrayBaseline()
    if name == "mean-ab":
        return MeanAbBaseline.from_folder(mean_ab_data) if mean_ab_data is not None else MeanAbBaseline()
    raise ValueError(f"unknown baseline {name!r} (choose from: {', '.join(BASELINES)})")
