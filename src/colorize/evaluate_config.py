"""The options of `colorize evaluate` and `colorize compare`, with their defaults in one place.

Standard library only, so the command line builds its options from these dataclasses without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from colorize.inference_options import InferenceOptions

SIZE_HELP = "protocol size: short side resized to it, centre crop size x size"
MEAN_AB_HELP = "folder of training photos to compute the mean-ab baseline from; unset: the built-in mean ab"
#: How the models run (render size, engine, precision, batch, threads); the checkpoints are named otherwise.
INFERENCE = {"skip": ("checkpoint",)}
MODELS_HELP = "checkpoint paths or gray, mean-ab, default (the bundled model); NAME=MODEL names one"


@dataclass
class EvaluateConfig:
    checkpoint: Path | None = field(
        default=None, metadata={"help": "generator checkpoint (.safetensors or training .pt); unset: the bundled model"}
    )
    data: Path | None = field(default=None, metadata={"help": "folder of held-out colour photos (required)"})
    out: Path = field(default=Path("evaluation"), metadata={"help": "folder for report.json, report.md and grid.png"})
    size: int = field(default=256, metadata={"help": SIZE_HELP})
    full_resolution: bool = field(default=True, metadata={"help": "also evaluate at each photo's full resolution"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N usable photos (quick runs)"})
    baselines: bool = field(default=True, metadata={"help": "also score the gray and mean-ab baselines as a floor"})
    mean_ab_data: Path | None = field(default=None, metadata={"help": MEAN_AB_HELP})
    grid_by: Literal["ciede2000", "psnr"] = field(
        default="ciede2000", metadata={"help": "per-image metric that picks the best / median / worst grid rows"}
    )
    fd: bool = field(default=True, metadata={"help": "compute the EfficientNet-Lite0 Fréchet distance (fd_efflite0)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    inference: InferenceOptions = field(default_factory=InferenceOptions, metadata=INFERENCE)

    def __post_init__(self):
        _check_common(self)


@dataclass
class CompareConfig:
    models: tuple[str, ...] = field(default=(), metadata={"help": MODELS_HELP})
    data: Path | None = field(default=None, metadata={"help": "folder of held-out colour photos (required)"})
    out: Path = field(default=Path("comparison"), metadata={"help": "folder for report.json, report.md and grid.png"})
    size: int = field(default=256, metadata={"help": SIZE_HELP})
    full_resolution: bool = field(default=True, metadata={"help": "also evaluate at each photo's full resolution"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N usable photos (quick runs)"})
    mean_ab_data: Path | None = field(default=None, metadata={"help": MEAN_AB_HELP})
    grid_rows: int = field(default=6, metadata={"help": "photos in the side-by-side grid (evenly spaced in the files)"})
    fd: bool = field(default=True, metadata={"help": "compute the EfficientNet-Lite0 Fréchet distance (fd_efflite0)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    inference: InferenceOptions = field(default_factory=InferenceOptions, metadata=INFERENCE)

    def __post_init__(self):
        _check_common(self)
        if not self.models:
            raise ValueError("name at least one checkpoint or baseline to compare")
        if self.grid_rows < 1:
            raise ValueError(f"grid_rows must be >= 1, got {self.grid_rows}")


def _check_common(config) -> None:
    if config.data is None:
        raise ValueError("--data is required: a folder of colour photos the models did not train on")
    if config.size < 8:
        raise ValueError(f"size must be >= 8 pixels (SSIM uses a 7x7 window), got {config.size}")
    if config.limit is not None and config.limit < 1:
        raise ValueError(f"limit must be >= 1, got {config.limit}")
