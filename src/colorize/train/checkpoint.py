"""Training checkpoints: what `RUN_DIR/checkpoints/last.pt` holds, writing it safely, reading it back, RNG state,
and which settings a resumed run takes from it.

The file is a torch.save'd dict that loads with `torch.load(weights_only=True)`: weights and optimiser states,
stage, epoch, step, the position inside an interrupted epoch, the config and every RNG state (per rank). Keys are
only ever added (e.g. "discriminator_kind", "generator_ema"), so every older checkpoint still loads and resumes.
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from colorize.train.config import _RUN_DEFINING_FIELDS, TrainConfig, _field_default

if TYPE_CHECKING:  # annotations only: the networks and steps build on this module's seeding
    from colorize.train.networks import Networks
    from colorize.train.steps import EpochTotals, TrainStep

CHECKPOINT_FORMAT = "colorize-train-checkpoint"
CHECKPOINT_VERSION = 1


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    # Stored as tensors and plain Python values so the checkpoint loads with torch.load(weights_only=True).
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_state(*, config: TrainConfig, networks: Networks, train_step: TrainStep | None,
                     scalers: dict[str, torch.amp.GradScaler], epoch: int, batches_done: int, totals: EpochTotals,
                     step: int, rng_by_rank: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything a resumed run needs to continue this one bit for bit."""
    G, D = networks.generator, networks.discriminator
    optimizers = train_step.optimizer_state() if train_step is not None else {"optimizer_G": None, "optimizer_D": None}
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "arch": G.arch,
        "generator_config": dict(G.config),
        "generator": G.state_dict(),
        "discriminator": D.state_dict(),
        "discriminator_kind": config.discriminator,
        "discriminator_config": dict(D.config),
        **optimizers,
        **{f"scaler_{name}": scaler.state_dict() for name, scaler in scalers.items()},
        "stage": train_step.stage if train_step is not None else None,
        "epoch": epoch,  # epochs fully completed
        "batches_done": batches_done,  # batches into epoch + 1 (an interrupted epoch)
        "partial_sums": dict(totals.sums),
        "partial_images": totals.images,
        "step": step,
        "config": config.to_dict(),
        "rng": rng_by_rank,
        "world_size": len(rng_by_rank),
    }
    if networks.ema is not None:
        state["generator_ema"] = networks.ema.state_dict()
    return state


def restore_networks(networks: Networks, ckpt: dict[str, Any]) -> None:
    """G, D (and G's moving average, when the run keeps one) as the checkpoint has them."""
    networks.generator.load_state_dict(ckpt["generator"])
    networks.discriminator.load_state_dict(ckpt["discriminator"])
    if networks.ema is not None:
        networks.ema.load_state_dict(ckpt["generator_ema"])


def save_checkpoint(state: dict[str, Any], checkpoint_dir: Path, *, keep_as_epoch: int | None = None) -> Path:
    """Write `state` to checkpoint_dir/last.pt (atomically) and, if asked, to epoch_NNN.pt too."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last = checkpoint_dir / "last.pt"
    tmp = last.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, last)  # never leave a half-written last.pt behind
    if keep_as_epoch is not None:
        torch.save(state, checkpoint_dir / f"epoch_{keep_as_epoch:03d}.pt")
    return last


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The training checkpoint at `path` (resume reads RUN_DIR/checkpoints/last.pt)."""
    if not path.is_file():
        raise FileNotFoundError(f"cannot resume: no checkpoint at {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a colorize training checkpoint")
    return ckpt


def keeps_epoch(config: TrainConfig, epoch: int) -> bool:
    """Whether epoch `epoch` also gets its own epoch_NNN.pt (every keep_every epochs and at each stage's end)."""
    return epoch % config.keep_every == 0 or epoch in (config.pretrain_epochs, config.total_epochs)


def merge_resumed_config(given: TrainConfig, saved: dict[str, Any], announce: bool = True) -> TrainConfig:
    """The checkpoint decides what is trained; the command line may change how long and how (workers...)."""
    saved_config = TrainConfig.from_dict(saved)
    changes = {name: getattr(saved_config, name) for name in _RUN_DEFINING_FIELDS}
    differing = [n for n in _RUN_DEFINING_FIELDS
                 if getattr(given, n) != changes[n] and getattr(given, n) != _field_default(n)]
    if differing and announce:
        print("resume: keeping the checkpoint's " + ", ".join(
            f"{n}={changes[n]}" for n in differing) + " (the run's data and model cannot change)",
            file=sys.stderr)
    merged = dataclasses.replace(given, **changes)
    merged.validate()
    return merged


def resume_position(ckpt: dict[str, Any], config: TrainConfig) -> tuple[int, int]:
    """(the epoch to continue, batches of it already done); a clear error when the run has nothing left to do."""
    done, batches_done = int(ckpt["epoch"]), int(ckpt["batches_done"])
    if done + 1 > config.total_epochs:
        raise ValueError(f"the checkpoint has already completed {done} epochs; raise --gan-epochs (or "
                         f"--pretrain-epochs) above {done - config.pretrain_epochs} to train further")
    if batches_done and ckpt["stage"] != config.stage_of(done + 1):
        raise ValueError("the checkpoint was interrupted inside a stage that the new epoch counts move")
    return done + 1, batches_done


def restore_rng(ckpt: dict[str, Any], rank: int, world_size: int, fallback_seed: int) -> bool:
    """The RNG state of this rank from the checkpoint; True when that replays the run exactly.

    With another number of processes there is no matching state: the RNG is seeded from `fallback_seed` instead.
    """
    if int(ckpt.get("world_size", 1)) == world_size:
        set_rng_state(ckpt["rng"][rank])
        return True
    torch.manual_seed(fallback_seed)
    return False
