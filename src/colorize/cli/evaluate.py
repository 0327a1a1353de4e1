"""`colorize evaluate` (one model against the baselines) and `colorize compare` (several side by side)."""

from __future__ import annotations

from colorize.cli._args import add_config_command, config_from_args


def register(subparsers) -> None:
    from colorize.evaluate_config import CompareConfig, EvaluateConfig

    add_config_command(
        subparsers, "evaluate", EvaluateConfig, run_evaluate,
        help="score a model on held-out photos (PSNR, SSIM, CIEDE2000, colourfulness, fd_efflite0)",
        description="Colorize gray versions of the photos in --data at the 256x256 protocol and at full resolution, "
        "print one table and write report.json, report.md and a grid of the best / median / worst photos to --out.",
    )

    p = add_config_command(
        subparsers, "compare", CompareConfig, run_compare, skip=("models",),
        help="compare checkpoints and baselines on the same photos: one table, win rates, a side-by-side grid",
        description="Each MODEL is a checkpoint path or a baseline: gray (no colour), mean-ab (the training set's "
        "mean colour) or default (the bundled model), optionally named as NAME=MODEL; a repeated name gets -2, -3. "
        "Writes report.json, report.md and grid.png to --out.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="checkpoint path, or gray, mean-ab, default; NAME=MODEL names it")


def _before_torch() -> None:
    # Spinning OpenMP threads on a shared machine made `compare` 7.5x slower (16 photos: 182 s against 24 s of
    # wall clock, 59 s against 7 s of CPU), so evaluation lets idle threads sleep as `colorize image` does.
    from colorize.cli._args import prefer_passive_openmp

    prefer_passive_openmp()


def run_evaluate(args) -> int:
    _before_torch()
    from colorize.evaluate import EvaluateConfig, run_evaluate as evaluate

    evaluate(config_from_args(EvaluateConfig, args))
    return 0


def run_compare(args) -> int:
    _before_torch()
    from colorize.evaluate import CompareConfig, run_compare as compare

    compare(config_from_args(CompareConfig, args))
    return 0
