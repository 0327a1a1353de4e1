"""The settings of inference, in one place: `colorize image`, `folder`, `serve` and evaluation all embed them.

Standard library only, so the command line can build its options from this dataclass without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BACKENDS = ("auto", "torch", "onnx")
PRECISIONS = ("fp32", "bf16")
#: render_size must be a multiple of this (the coarsest stride of the encoder U-Nets).
RENDER_MULTIPLE = 32


@dataclass(frozen=True)
class InferenceOptions:
    """How a Colorizer runs: which model, at what size, on which engine. Immutable; `dataclasses.replace` to vary."""

    checkpoint: Path | None = field(
        default=None,
        metadata={"help": "generator file: .safetensors, a training checkpoint .pt, or an exported .onnx; "
                          "none = the bundled default model"},
    )
    render_size: int = field(
        default=256,
        metadata={"help": "long side in pixels of the copy the network sees (multiple of 32); the output keeps "
                          "the photo's own resolution"},
    )
    backend: Literal["auto", "torch", "onnx"] = field(
        default="auto",
        metadata={"help": "inference engine; auto = onnxruntime on a graph exported from the model on first use "
                          "(cached on disk), torch where that cannot run or for bf16"},
    )
    precision: Literal["fp32", "bf16"] = field(
        default="fp32", metadata={"help": "bf16 runs the network under torch's bfloat16 autocast (torch only)"}
    )
    saturation: float = field(default=1.0, metadata={"help": "multiply the predicted colour (a*, b*) by this"})
    hint_reach: float = field(
        default=0.2,
        metadata={"help": "how far a colour hint's correction spreads, as a fraction of the photo's long side "
                          "(edge-aware: it follows regions of similar lightness); 0 = hints go only to a model "
                          "trained with --hints"},
    )
    batch_size: int = field(default=4, metadata={"help": "photos per forward pass"})
    num_threads: int = field(
        default=0, metadata={"help": "CPU threads for torch/onnxruntime; 0 = torch's default",
                             "aliases": ("--threads",)}
    )
    max_pixels: int = field(
        default=80_000_000,
        metadata={"help": "largest accepted image in pixels (decompression-bomb guard; 12 MP photos are routine, "
                          "scanned prints reach 60 MP)"},
    )

    def __post_init__(self) -> None:
        if self.checkpoint is not None and not isinstance(self.checkpoint, Path):
            object.__setattr__(self, "checkpoint", Path(self.checkpoint))
        if self.backend is None:  # the Colorizer's older spelling of "auto"
            object.__setattr__(self, "backend", "auto")
        size = self.render_size
        if not isinstance(size, int) or isinstance(size, bool) or size < RENDER_MULTIPLE or size % RENDER_MULTIPLE:
            raise ValueError(f"render_size must be a positive multiple of {RENDER_MULTIPLE}, got {size!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.backend == "onnx" and self.precision != "fp32":
            raise ValueError("the onnx backend runs in fp32 only; use backend 'torch' (or 'auto') for bf16")
        if not self.saturation >= 0:
            raise ValueError(f"saturation must be >= 0, got {self.saturation}")
        if not 0 <= self.hint_reach <= 10:
            raise ValueError(f"hint_reach must be between 0 and 10 (a fraction of the long side), got {self.hint_reach}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0 (0 = torch's default), got {self.num_threads}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
