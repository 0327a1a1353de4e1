"""`colorize train`: train a colorization model on a folder of photos (options generated from TrainConfig)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from colorize.cli._args import add_config_command
    from colorize.train import TrainConfig

    add_config_command(
        subparsers, "train", TrainConfig, run,
        help="train a colorization model on a folder of photos",
        description=(
            "Train a colorization generator on a folder of colour photos: optional L1-only pretraining "
            "(--pretrain-epochs), then the pix2pix GAN (--gan-epochs). Writes metrics.csv, TensorBoard logs, "
            "sample grids and checkpoints to --out, and RUN_DIR/generator.safetensors at the end. Ctrl-C saves a "
            "checkpoint; --resume continues from it."
        ),
    )


def run(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.train import Trainer
    from colorize.train import TrainConfig

    config = config_from_args(TrainConfig, args)
    result = Trainer(config).fit()
    if result.is_main_process:
        print()
        print(result.summary())
    return 130 if result.interrupted else 0
