"""A run's photos: prepared once (rank 0 decodes and fills the cache, the other ranks then read it) and batched."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from colorize.data import EpochSampler, PhotoDataset, TrainingData, prepare_data
from colorize.train.config import TrainConfig
from colorize.train.runtime import Runtime


def prepare_run_data(config: TrainConfig, run_dir: Path, runtime: Runtime) -> TrainingData:
    cache_dir = None
    if config.cache:
        cache_dir = config.cache_dir if config.cache_dir is not None else run_dir / "cache"
    kwargs = dict(size=config.size, load_size=config.load_size, max_images=config.max_images,
                  val_images=config.val_images, val_fraction=config.val_fraction, val_data=config.val_data,
                  seed=config.seed, cache_dir=cache_dir, augment=config.augment,
                  folder_weights=config.folder_weights())
    if runtime.is_main:
        data = prepare_data(config.data, progress=config.progress, **kwargs)
    runtime.barrier()
    if not runtime.is_main:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rank 0 already warned about each skipped file
            data = prepare_data(config.data, progress=False, **kwargs)
    return data


#: The settings that decide which photos of --data are val (colorize.data.split_files).
_SPLIT_FIELDS = ("max_images", "val_images", "val_fraction", "seed")


def split_change(config: TrainConfig, earlier: dict | None) -> str | None:
    """How this run's seeded train/val split differs from that of the earlier run it starts from (None if not).

    A continuation with another seed trains on most of the earlier run's val photos, so scoring both on that val
    split would flatter the continuation.
    """
    if not earlier or earlier.get("data") is None or config.data is None or config.val_data is not None:
        return None
    if Path(earlier["data"]).resolve() != Path(config.data).resolve() or earlier.get("val_data") is not None:
        return None
    changed = [f"{name} {earlier[name]} -> {getattr(config, name)}" for name in _SPLIT_FIELDS
               if name in earlier and earlier[name] != getattr(config, name)]
    return ", ".join(changed) or None


def make_loader(dataset: PhotoDataset, sampler: EpochSampler, batch_size: int, *, drop_last: bool,
                num_workers: int, runtime: Runtime, seed: int):
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last,
        num_workers=num_workers, pin_memory=runtime.device.type == "cuda",
        # An explicit generator keeps the loader from drawing on the global RNG (dropout's), which
        # would make results depend on num_workers.
        generator=torch.Generator().manual_seed(seed),
    )
