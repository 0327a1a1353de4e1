"""Stage-1 L1 pretraining under one wall-clock budget: pretrained-encoder U-Net vs the from-scratch pix2pix U-Net.

Does a pretrained encoder learn colour faster than training from scratch? Both generators run the project's own `Trainer` in its L1-only stage 1 (Adam
1e-4), with the same seed, photos, crop size, batch and training-time budget:

* efficientnet_lite0 with its ImageNet-pretrained encoder, and
* pix2pix_unet from random init (num_downs = log2(size): 7 at 128 px, a 1x1 bottleneck as at 256 px with 8).

`--steps-per-epoch` makes each trainer "epoch" short, so each one is a point of the validation curve (the trainer
computes val_l1 at every epoch end). The budget counts training time only, summed from the trainer's per-epoch
`seconds` (the train loop, data loading included); validation, checkpoint saving and photo decoding are left out
so they do not eat into one model's budget more than the other's. Each run stops at the first epoch end at which
its training time reaches the budget, so its curve covers the whole budget; the summary compares each model's last
point within the budget (what a run cut off exactly at the budget would have), so neither gets extra time. Step 0
is the untrained generator, measured by the trainer's own validation.

    python benchmarks/pretrain_vs_scratch.py [--minutes 5] [--steps-per-epoch 10] [--size 128] [--threads N]

Prints a (training seconds, images seen, val_l1) table per model and a summary. val_l1 is the trainer's metric:
mean |predicted ab - real ab| over the validation photos in normalised ab units (ab / 110), centre crops.
Run it on a quiet machine: the other jobs' load changes how many steps fit in the budget.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from colorize.train import TrainConfig
from colorize.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
#: The stage-1 epochs asked for are an upper bound never reached: the budget stops each run.
UNREACHABLE_EPOCHS = 1_000_000


@dataclass
class CurvePoint:
    epoch: int
    step: int
    seconds: float  # cumulative training time
    images: int  # cumulative images trained on
    val_l1: float


@dataclass
class Curve:
    label: str
    run_dir: Path
    points: list[CurvePoint] = field(default_factory=list)
    train_images: int = 0
    val_images: int = 0
    wall_seconds: float = 0.0  # the whole fit(), validation and checkpoints included

    @property
    def last(self) -> CurvePoint:
        return self.points[-1]

    def within(self, seconds: float) -> CurvePoint:
        """The last point reached within `seconds` of training (step 0 at worst)."""
        return [p for p in self.points if p.seconds <= seconds][-1]


def read_epochs(metrics_csv: Path) -> list[dict[str, str]]:
    if not metrics_csv.is_file():
        return []
    with metrics_csv.open(newline="") as f:
        return list(csv.DictReader(f))


def training_seconds(rows: list[dict[str, str]]) -> float:
    return sum(float(r["seconds"]) for r in rows)


class BudgetStop:
    """on_step callback: once the finished epochs add up to `budget` seconds of training, stop the run.

    The trainer appends an epoch's row (with its train-loop `seconds`) to metrics.csv before the next epoch's
    first step, so the check there sees every finished epoch; the stop then interrupts that new epoch after one
    step, which is neither timed nor part of the curve.
    """

    def __init__(self, metrics_csv: Path, budget_seconds: float):
        self.metrics_csv = metrics_csv
        self.budget_seconds = budget_seconds

    def __call__(self, trainer: Trainer, step: int) -> None:
        if training_seconds(read_epochs(self.metrics_csv)) >= self.budget_seconds:
            trainer.request_stop()


def run_model(label: str, config: TrainConfig, budget_seconds: float, keep_checkpoints: bool) -> Curve:
    run_dir = Path(config.out)
    metrics_csv = run_dir / "metrics.csv"
    print(f"\n=== {label} ===", flush=True)
    curve = Curve(label=label, run_dir=run_dir)
    val0 = Trainer(config).initial_val_l1()
    curve.points.append(CurvePoint(epoch=0, step=0, seconds=0.0, images=0, val_l1=val0))
    print(f"step 0 (untrained) val_l1 {val0:.4f}", flush=True)

    started = time.perf_counter()
    result = Trainer(config, on_step=BudgetStop(metrics_csv, budget_seconds)).fit()
    curve.wall_seconds = time.perf_counter() - started
    curve.train_images, curve.val_images = result.train_images, result.val_images
    batch = min(config.batch_size, result.train_images)  # what the trainer's sampler uses
    seconds = 0.0
    for row in read_epochs(metrics_csv):
        seconds += float(row["seconds"])
        step = int(row["step"])
        curve.points.append(CurvePoint(epoch=int(row["epoch"]), step=step, seconds=seconds, images=step * batch,
                                       val_l1=float(row["val_l1"]) if row["val_l1"] else math.nan))
        if seconds >= budget_seconds:
            break  # later rows can only come from a one-step epoch that the stop let finish
    if len(curve.points) < 2:
        raise RuntimeError(f"{label}: no epoch finished; lower --steps-per-epoch or raise --minutes")
    print(f"{label}: stopped after {curve.last.epoch} epochs, {curve.last.seconds:.1f} s of training "
          f"({curve.wall_seconds:.1f} s wall clock with validation and checkpoints); the 'interrupted' line "
          "above is the budget stop", flush=True)
    if not keep_checkpoints:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # hundreds of MB the benchmark never reads
    return curve


def print_curve(curve: Curve, budget_seconds: float) -> None:
    print(f"\n{curve.label}  ({curve.train_images} train photos, {curve.val_images} val photos; "
          f"metrics: {curve.run_dir / 'metrics.csv'})")
    print(f"{'epoch':>6} {'step':>6} {'train s':>9} {'images':>8} {'val_l1':>8}")
    for p in curve.points:
        past = "  (past the budget)" if p.seconds > budget_seconds else ""
        print(f"{p.epoch:>6} {p.step:>6} {p.seconds:>9.1f} {p.images:>8} {p.val_l1:>8.4f}{past}")


def print_summary(pretrained: Curve, scratch: Curve, budget_seconds: float) -> None:
    print(f"\nsummary: val_l1 at the end of the budget ({budget_seconds:.0f} s of training per model) = each "
          "model's last point within it")
    print(f"{'':<46} {'step 0':>8} {'epoch 1':>8} {'budget':>8} {'train s':>8} {'images':>7} {'epochs':>6}")
    ends = []
    for c in (pretrained, scratch):
        end = c.within(budget_seconds)
        ends.append(end)
        print(f"{c.label:<46} {c.points[0].val_l1:>8.4f} {c.points[1].val_l1:>8.4f} {end.val_l1:>8.4f} "
              f"{end.seconds:>8.1f} {end.images:>7} {end.epoch:>6}")
        if end.epoch == 0:
            print(f"  note: {c.label} finished no epoch within the budget; lower --steps-per-epoch")

    a, b = ends[0].val_l1, ends[1].val_l1
    lower = pretrained.label if a < b else scratch.label if b < a else "neither (equal)"
    print(f"val_l1 at the budget: pretrained {a:.4f} / scratch {b:.4f} = {a / b:.3f}; lower: {lower}")
    print(f"claim (the pretrained encoder reaches a lower val L1 in the same budget): "
          f"{'holds' if a < b else 'does NOT hold'} on this run")


def machine_line(threads: int, precision: str, channels_last: bool) -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"machine: {platform.processor() or platform.machine()}, nproc {cores}, load average {load}; "
            f"torch {torch.__version__}, {threads} threads, cpu {precision}"
            f"{' channels_last' if channels_last else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATASETS / "bsds500" / "train", help="training photos")
    parser.add_argument("--val-data", type=Path, default=DATASETS / "bsds500" / "val", help="validation photos")
    parser.add_argument("--val-images", type=int, default=50, help="validation photos sampled from --val-data")
    parser.add_argument("--size", type=int, default=128, help="crop size in pixels")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=5.0, help="training-time budget per model")
    parser.add_argument("--steps-per-epoch", type=int, default=10, help="steps between two curve points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="as `colorize train` (auto = bf16 where the CPU has fast bf16 kernels)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="where the two runs go (default: a new temp dir)")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep the runs' checkpoints/ folders")
    args = parser.parse_args()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if args.val_images < 1:
        parser.error("--val-images must be at least 1 (the curves are validation L1)")
    for name in ("data", "val_data"):
        if not getattr(args, name).is_dir():
            parser.error(f"--{name.replace('_', '-')}: no folder {getattr(args, name)}")
    if args.threads:
        torch.set_num_threads(args.threads)  # the step-0 probe runs outside fit(), which sets its own
    out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="pretrain_vs_scratch_"))
    budget_seconds = args.minutes * 60.0

    base = TrainConfig(
        data=args.data, val_data=args.val_data, val_images=args.val_images, size=args.size,
        batch_size=args.batch_size, seed=args.seed, precision=args.precision, num_threads=args.threads,
        pretrain_epochs=UNREACHABLE_EPOCHS, gan_epochs=0, steps_per_epoch=args.steps_per_epoch,
        cache_dir=out / "cache",  # decoded once, shared by both runs
        keep_every=UNREACHABLE_EPOCHS, sample_every=UNREACHABLE_EPOCHS, progress=False, tensorboard=False,
    )
    num_downs = int(math.log2(args.size))
    runs = [
        ("efficientnet_lite0, pretrained encoder",
         dataclasses.replace(base, out=out / "pretrained_efficientnet_lite0", generator="efficientnet_lite0",
                             pretrained=True)),
        (f"pix2pix_unet, from scratch (num_downs {num_downs})",
         dataclasses.replace(base, out=out / "scratch_pix2pix_unet", generator="pix2pix_unet",
                             num_downs=num_downs)),
    ]
    probe = Trainer(runs[0][1])
    print(machine_line(args.threads or torch.get_num_threads(), probe.runtime.precision, probe.runtime.channels_last))
    print(f"data: {args.data} (train), {args.val_data} ({args.val_images} val photos); {args.size} px, "
          f"batch {args.batch_size}, {args.steps_per_epoch} steps per curve point, seed {args.seed}; "
          f"stage 1 (L1 only, Adam {runs[0][1].pretrain_lr:g}); budget {budget_seconds:.0f} s of training per "
          f"model; runs in {out}", flush=True)

    curves = [run_model(label, config, budget_seconds, args.keep_checkpoints) for label, config in runs]
    for curve in curves:
        print_curve(curve, budget_seconds)
    print_summary(*curves, budget_seconds)


if __name__ == "__main__":
    main()
