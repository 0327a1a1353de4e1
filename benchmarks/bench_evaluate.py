"""Evaluation costs and reference numbers: prints them, asserts nothing.

    python benchmarks/bench_evaluate.py                  # feature cost + baselines on 50 BSDS500 val photos
    python benchmarks/bench_evaluate.py --mean-ab        # also recompute the built-in mean ab (DEFAULT_MEAN_AB)

Paths are relative to the repository root (../shared/datasets/... by default).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def bench_features(batch: int = 16, repeats: int = 3) -> None:
    import torch

    from colorize.metrics import EFFLITE0_INPUT_SIZE, EfficientNetLite0Features

    t0 = time.perf_counter()
    backbone = EfficientNetLite0Features(batch_size=batch)
    print(f"fd_efflite0: backbone load {time.perf_counter() - t0:.2f} s")
    rng = np.random.default_rng(0)
    for size in (32, 64, 256):
        images = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(batch)]
        backbone(images[:2])  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            backbone(images)
            times.append(time.perf_counter() - t0)
        per_image = min(times) / batch * 1000
        print(f"fd_efflite0: {size}x{size} photos resized to {EFFLITE0_INPUT_SIZE}: {per_image:.0f} ms/photo "
              f"(batch {batch}, {torch.get_num_threads()} threads)")


def bench_baselines(data: Path, limit: int, size: int, full: bool, out: Path) -> None:
    from colorize.evaluate import CompareConfig, run_compare

    t0 = time.perf_counter()
    run_compare(CompareConfig(models=("gray", "mean-ab"), data=data, out=out, size=size, limit=limit,
                              full_resolution=full, progress=False))
    print(f"compare gray mean-ab on {limit} photos (full resolution: {full}): {time.perf_counter() - t0:.1f} s")


def bench_mean_ab(data: Path) -> None:
    from colorize.baselines import mean_ab_stats

    t0 = time.perf_counter()
    stats = mean_ab_stats(data)
    seconds = time.perf_counter() - t0
    print(f"mean ab of {data}: a = {stats.ab[0]:.4f}, b = {stats.ab[1]:.4f} from {stats.n_photos} colour photos "
          f"({stats.n_grayscale} grayscale, {stats.n_unreadable} unreadable skipped) in {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO / "../shared/datasets/bsds500/val")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--no-full", action="store_true", help="skip the full-resolution protocol")
    parser.add_argument("--out", type=Path, default=Path("/tmp/colorize-bench-evaluate"))
    parser.add_argument("--mean-ab", action="store_true", help="recompute the built-in mean ab (takes minutes)")
    parser.add_argument("--mean-ab-data", type=Path, default=REPO / "../shared/datasets/imagenet-sample/train")
    args = parser.parse_args()
    bench_features()
    bench_baselines(args.data.resolve(), args.limit, args.size, not args.no_full, args.out)
    if args.mean_ab:
        bench_mean_ab(args.mean_ab_data.resolve())


if __name__ == "__main__":
    main()
