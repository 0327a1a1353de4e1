"""What a run reports as it goes: RUN_DIR/metrics.csv, TensorBoard, the printed table, sample grids, summary.json."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorize.train.config import TrainConfig, TrainResult, _fmt
from colorize.train.steps import LOSS_COLUMNS

CSV_COLUMNS = ("epoch", "stage", "step", *LOSS_COLUMNS, "val_l1", "images_per_s", "seconds")
_TABLE_WIDTHS = [5, 8] + [11] * len(LOSS_COLUMNS) + [8, 7]


def make_sample_grid(gray: torch.Tensor, predicted: torch.Tensor, real: torch.Tensor, gap: int = 2) -> np.ndarray:
    """Rows of (gray | predicted | real) from three (B, 3, H, W) RGB batches in [0, 1]; (H', W', 3) uint8."""
    from colorize.lab import tensor_to_uint8

    cols = [tensor_to_uint8(t.float().cpu()).numpy() for t in (gray, predicted, real)]
    b, h, w, _ = cols[0].shape
    grid = np.full((b * h + (b - 1) * gap, 3 * w + 2 * gap, 3), 255, np.uint8)
    for i in range(b):
        for j, col in enumerate(cols):
            grid[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = col[i]
    return grid


def table_row(cells: list[Any]) -> str:
    return " ".join(f"{c:>{w}}" for c, w in zip(cells, _TABLE_WIDTHS))


class ProgressBar:
    """tqdm over an epoch's batches, with the images/s and loss_G of the latest step."""

    def __init__(self, description: str, total: int, initial: int):
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=initial, desc=description, unit="batch", leave=False,
                         dynamic_ncols=True)

    def show(self, images_per_s: float, loss_G: float) -> None:
        self._bar.set_postfix(img_s=f"{images_per_s:.1f}", loss_G=f"{loss_G:.3f}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class RunLog:
    """The run's files and printed table (rank 0 only). On resume, metrics.csv keeps exactly the checkpoint's
    epochs: a row written after the last save is redone."""

    def __init__(self, run_dir: Path, config: TrainConfig, resumed_epoch: int | None):
        self.run_dir = run_dir
        self.metrics_path = run_dir / "metrics.csv"
        rows = []
        if resumed_epoch is not None and self.metrics_path.is_file():
            with self.metrics_path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= resumed_epoch]
        with self.metrics_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        self._tb = None
        if config.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tensorboard"),
                                     purge_step=resumed_epoch + 1 if resumed_epoch is not None else None)

    def print_header(self, description: str) -> None:
        print(description, flush=True)
        print(table_row(["epoch", "stage", *LOSS_COLUMNS, "val_l1", "img/s"]), flush=True)

    def log_epoch(self, epoch: int, metrics: dict[str, Any]) -> None:
        cells = [epoch, metrics["stage"], *(_fmt(metrics[k]) for k in LOSS_COLUMNS), _fmt(metrics["val_l1"]),
                 f"{metrics['images_per_s']:.1f}"]
        print(table_row(cells), flush=True)
        row = {k: metrics.get(k, "") for k in CSV_COLUMNS}
        for k, v in row.items():
            if isinstance(v, float):
                row[k] = "" if math.isnan(v) else f"{v:.6g}"
        with self.metrics_path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=CSV_COLUMNS).writerow(row)
        if self._tb is not None:
            for k in (*LOSS_COLUMNS, "val_l1", "images_per_s"):
                v = metrics.get(k)
                if isinstance(v, float) and not math.isnan(v):
                    self._tb.add_scalar(f"{'val' if k == 'val_l1' else 'train'}/{k}", v, epoch)
            self._tb.flush()

    def log_samples(self, epoch: int, grid: np.ndarray) -> Path:
        from PIL import Image

        path = self.run_dir / "samples" / f"epoch_{epoch:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(path)
        if self._tb is not None:
            self._tb.add_image("samples", grid, epoch, dataformats="HWC")
        return path

    def write_summary(self, result: TrainResult, **settings: Any) -> None:
        (self.run_dir / "summary.json").write_text(json.dumps({
            "files_found": result.files_found, "train_images": result.train_images,
            "val_images": result.val_images, "skipped": [[str(p), r] for p, r in result.skipped],
            "grayscale_skipped": result.grayscale_skipped, "epochs_completed": result.epochs_completed,
            "seconds": round(result.seconds, 2), "interrupted": result.interrupted, **settings,
        }, indent=2))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
