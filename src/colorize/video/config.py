"""The options of `colorize video`, in one place. Standard library only, so the command line reads them cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from colorize.inference_options import InferenceOptions

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass
class VideoConfig:
    """Everything `colorize video` takes: the video's options, whose defaults live here, and the model's
    (`inference`, an `InferenceOptions`: its `max_pixels` also bounds the frame size)."""

    input: Path | None = None
    output: Path | None = None
    start: float = field(default=0.0, metadata={"help": "seconds into the video to start at"})
    duration: float | None = field(default=None, metadata={"help": "seconds to colorize; none = to the end"})
    stabilize: float = field(
        default=0.8,
        metadata={"help": "temporal stabilisation strength, 0 (each frame coloured alone) to 0.95: how much of the "
                          "previous frames' colour, moved along the motion, each frame keeps"},
    )
    flow: bool = field(
        default=True, metadata={"help": "follow the motion with optical flow when stabilising (off: blend in place)"}
    )
    scene_cut: float = field(
        default=0.3,
        metadata={"help": "lightness-histogram change (0-1) between two frames that counts as a scene cut; the "
                          "stabilisation starts afresh at a cut"},
    )
    crf: int = field(default=18, metadata={"help": "H.264 quality: 0 lossless, 18 visually transparent, 51 worst"})
    preset: Literal[X264_PRESETS] = field(
        default="veryfast",
        metadata={"help": "H.264 speed/size trade-off (x264 preset); at 1080p veryfast encodes about 2.5x faster "
                          "than medium, which would otherwise take more time than the colouring"},
    )
    overwrite: bool = field(default=False, metadata={"help": "replace an existing output file"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    inference: InferenceOptions = field(default_factory=InferenceOptions)

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"--start must be >= 0 seconds, got {self.start}")
        if self.duration is not None and not self.duration > 0:
            raise ValueError(f"--duration must be > 0 seconds, got {self.duration}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"--crf must be between 0 and 51, got {self.crf}")
