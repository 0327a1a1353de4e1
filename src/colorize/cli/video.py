"""`colorize video IN OUT`: colorize a video file (options from `colorize.video.config.VideoConfig`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    from colorize.cli._args import add_config_command
    from colorize.video.config import VideoConfig

    p = add_config_command(
        subparsers, "video", VideoConfig, run_video, skip=("input", "output"),
        help="colorize a video (file in, file out), with temporal stabilisation",
        description="Colorize a video at its own resolution and time stamps: frames are coloured in batches, the "
                    "colour is stabilised over time (reset at scene cuts) and joined with each frame's own "
                    "lightness, encoded to H.264, and the audio copied (re-encoded to AAC where the container "
                    "cannot hold it). OUT ends in .mp4, .m4v, .mov or .mkv. Bad input is an error and writes "
                    "nothing; Ctrl-C keeps the frames done so far as a shorter, playable OUT.",
    )
    p.add_argument("input", type=Path, metavar="IN", help="video file")
    p.add_argument("output", type=Path, metavar="OUT", help="output video file")


def run_video(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.cli._args import prefer_passive_openmp
    from colorize.video.config import VideoConfig

    config = config_from_args(VideoConfig, args)
    prefer_passive_openmp()  # before torch loads: idle OpenMP threads would spin against the codecs' threads
    from colorize.video.pipeline import colorize_video

    report = colorize_video(config)
    print(report.summary())
    return 0
