"""Training: the pix2pix conditional GAN in L*a*b, optionally after an L1-only pretraining stage.

`Trainer(TrainConfig(...)).fit()` runs up to two stages over the epochs 1..pretrain_epochs+gan_epochs:

* "pretrain" (epochs 1..pretrain_epochs): the generator alone, L1 loss, Adam 1e-4. Starting the GAN from a
  generator that already predicts plausible colours is what makes the pretrained-encoder U-Net work on small data.
* "gan" (the rest): each step computes the fake ab once, updates D on (L, fake.detach()) vs (L, real ab) with the
  two losses averaged, then G with the GAN loss against real labels + lambda x L1. Adam 2e-4, betas (0.5, 0.999).

Every epoch appends a row to RUN_DIR/metrics.csv (and TensorBoard), writes a sample grid (gray | predicted | real)
of fixed validation photos to RUN_DIR/samples/, and a checkpoint to RUN_DIR/checkpoints/last.pt that holds
everything needed to continue bit for bit: weights, optimisers, stage, epoch, step, the position inside an
interrupted epoch and every RNG state. Ctrl-C finishes the current step, saves, and stops. The run ends by exporting
the generator to RUN_DIR/generator.safetensors.

Runs unchanged under `torchrun` (DDP for G and D, a per-epoch seeded sampler per rank, rank 0 alone logs and saves).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from colorize.data import EpochSampler, PhotoDataset, TrainingData, batch_to_model_space, prepare_data
from colorize.losses import GANLoss, L1Loss
from colorize.train.config import _RUN_DEFINING_FIELDS, TrainConfig, TrainResult, _field_default, _fmt

CHECKPOINT_FORMAT = "colorize-train-checkpoint"
CHECKPOINT_VERSION = 1
LOSS_COLUMNS = ("loss_D_fake", "loss_D_real", "loss_D", "loss_G_GAN", "loss_G_L1", "loss_G")
CSV_COLUMNS = ("epoch", "stage", "step", *LOSS_COLUMNS, "val_l1", "images_per_s", "seconds")

#: channels_last on CPU: measured 1.5-1.7x faster GAN steps (benchmarks/train_throughput.py, README section train).
CPU_AUTO_CHANNELS_LAST = True


def cpu_bf16_is_fast() -> bool:
    """True when oneDNN has bf16 kernels on this CPU (AVX-512 and up); there bf16 autocast measured ~2x faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


# ---------------------------------------------------------------------------------------------------- set-up helpers


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device cuda asked for, but torch sees no CUDA GPU")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device mps asked for, but this torch has no MPS backend available")
        return torch.device("mps")
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return ("bf16" if cpu_bf16_is_fast() else "fp32") if device.type == "cpu" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA device (use bf16 on CPU)")
    return precision


def autocast_context(device: torch.device, precision: str):
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def parse_generator_options(config: TrainConfig) -> dict[str, Any]:
    """The kwargs for `build_generator(config.generator, ...)` from the config's generator fields."""
    options: dict[str, Any] = {}
    for name in ("num_filters", "num_downs", "dropout"):
        if getattr(config, name) is not None:
            options[name] = getattr(config, name)
    if config.generator != "pix2pix_unet":
        options["pretrained"] = config.pretrained
        if config.encoder_weights is not None:
            options["encoder_weights"] = str(config.encoder_weights)
    for item in config.generator_option:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"generator option {item!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _rng_state() -> dict[str, Any]:
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


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


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


# ---------------------------------------------------------------------------------------------------- the trainer


class _EpochTotals:
    """Sums of per-batch losses weighted by batch size, so the epoch mean is exact (and survives a resume)."""

    def __init__(self, sums: dict[str, float] | None = None, images: int = 0):
        self.sums = dict.fromkeys(LOSS_COLUMNS, 0.0) if sums is None else dict(sums)
        self.images = images

    def add(self, losses: dict[str, float], n: int) -> None:
        for k, v in losses.items():
            self.sums[k] += v * n
        self.images += n

    def means(self, stage: str) -> dict[str, float]:
        out = {}
        for k in LOSS_COLUMNS:
            if stage == "pretrain" and k in ("loss_D_fake", "loss_D_real", "loss_D", "loss_G_GAN"):
                out[k] = float("nan")  # no discriminator in stage 1
            else:
                out[k] = self.sums[k] / self.images if self.images else float("nan")
        return out


class Trainer:
    """Trains a colorization generator as `config` says; `fit()` returns a `TrainResult`.

    `on_step(trainer, step)` (optional) is called after every optimisation step; tests use it with
    `request_stop()` to interrupt a run at a chosen step, the way Ctrl-C does.
    """

    def __init__(self, config: TrainConfig, on_step: Callable[["Trainer", int], None] | None = None):
        config.validate()
        self.config = config
        self.on_step = on_step
        self.run_dir = Path(config.out)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self._stop_requested = False
        # distributed (torchrun sets these)
        self.world_size = int(os.environ.get("WORLD_SIZE", 1))
        self.rank = int(os.environ.get("RANK", 0))
        self.is_main = self.rank == 0
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        self.channels_last = (CPU_AUTO_CHANNELS_LAST if self.device.type == "cpu" else True) \
            if config.channels_last is None else config.channels_last

    # -- public control
    @property
    def generator(self) -> nn.Module:
        """The generator being trained (without its DDP wrapper)."""
        return self._G_module

    @property
    def discriminator(self) -> nn.Module:
        return self._D_module

    def initial_val_l1(self) -> float:
        """val_l1 of the generator a fresh `fit()` would start from: same data, seeded weights and precision.

        The step-0 point of a learning curve (e.g. to compare how fast two generators learn from where they start).
        """
        self.data = self._prepare_data()
        self._build_models()
        return self._validate()

    def request_stop(self) -> None:
        """Finish the current step, save a checkpoint, and return from fit() (what Ctrl-C does)."""
        self._stop_requested = True

    # -- main entry
    def fit(self) -> TrainResult:
        started = time.perf_counter()
        threads = torch.get_num_threads()
        if self.config.num_threads:
            torch.set_num_threads(self.config.num_threads)
        self._init_distributed()
        try:
            return self._fit(started)
        finally:
            torch.set_num_threads(threads)
            if self._owns_process_group:
                torch.distributed.destroy_process_group()

    def _fit(self, started: float) -> TrainResult:
        config = self.config
        checkpoint = self._load_resume_checkpoint() if config.resume else None
        if checkpoint is not None:
            config = self.config = self._merge_resumed_config(checkpoint["config"])
        self.data = self._prepare_data()  # before anything is written: a bad folder fails cleanly
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._build_models()
        self.gan_loss = GANLoss(config.gan_mode).to(self.device)
        self.l1_loss = L1Loss(config.lambda_l1)
        self.step = 0
        self.stage: str | None = None
        self.opt_G = self.opt_D = None
        self.scaler_G = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.scaler_D = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        start_epoch, start_batch, totals = 1, 0, _EpochTotals()
        if checkpoint is not None:
            start_epoch, start_batch, totals = self._restore(checkpoint)
        self._open_logs(resumed_epoch=start_epoch - 1 if checkpoint is not None else None)
        self._print_header()

        last_metrics: dict[str, Any] = {}
        interrupted = False
        epochs_completed = start_epoch - 1
        previous_handler = self._install_sigint_handler()
        try:
            for epoch in range(start_epoch, config.total_epochs + 1):
                self._enter_stage(config.stage_of(epoch), epoch)
                metrics, finished = self._train_epoch(epoch, start_batch, totals)
                start_batch, totals = 0, _EpochTotals()
                if not finished:
                    interrupted = True
                    break
                metrics["val_l1"] = self._validate()
                last_metrics = metrics
                epochs_completed = epoch
                if self.is_main:
                    self._log_epoch(epoch, metrics)
                    if epoch % config.sample_every == 0 or epoch == config.total_epochs:
                        self._write_samples(epoch)
                self._save_checkpoint(epoch=epoch, batches_done=0, totals=_EpochTotals(),
                                      keep=self._keep_epoch(epoch))
                if self._should_stop():
                    interrupted = epoch < config.total_epochs
                    break
        finally:
            self._restore_sigint_handler(previous_handler)
            if self.is_main and getattr(self, "_tb", None) is not None:
                self._tb.close()

        generator_path = None
        if not interrupted and self.is_main:
            from colorize.models import save_generator

            generator_path = save_generator(_unwrap(self.G), self.run_dir / "generator.safetensors")
        result = TrainResult(
            run_dir=self.run_dir,
            files_found=self.data.files_found,
            train_images=len(self.data.train),
            val_images=len(self.data.val),
            skipped=self.data.skipped,
            grayscale_skipped=len(self.data.grayscale),
            epochs_completed=epochs_completed,
            seconds=time.perf_counter() - started,
            interrupted=interrupted,
            last_metrics=last_metrics,
            checkpoint=self.checkpoint_dir / "last.pt",
            generator_path=generator_path,
            is_main_process=self.is_main,
        )
        if self.is_main:
            (self.run_dir / "summary.json").write_text(json.dumps({
                "files_found": result.files_found, "train_images": result.train_images,
                "val_images": result.val_images, "skipped": [[str(p), r] for p, r in result.skipped],
                "grayscale_skipped": result.grayscale_skipped, "epochs_completed": result.epochs_completed,
                "seconds": round(result.seconds, 2), "interrupted": interrupted,
                "precision": self.precision, "channels_last": self.channels_last, "world_size": self.world_size,
            }, indent=2))
        return result

    # -- distributed
    def _init_distributed(self) -> None:
        self._owns_process_group = False
        if self.world_size <= 1:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend=backend)
            self._owns_process_group = True

    def _barrier(self) -> None:
        if self.world_size > 1:
            torch.distributed.barrier()

    def _all_reduce_sum(self, values: list[float]) -> list[float]:
        if self.world_size <= 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t)
        return t.tolist()

    # -- data
    def _prepare_data(self) -> TrainingData:
        config = self.config
        cache_dir = None
        if config.cache:
            cache_dir = config.cache_dir if config.cache_dir is not None else self.run_dir / "cache"
        kwargs = dict(size=config.size, load_size=config.load_size, max_images=config.max_images,
                      val_images=config.val_images, val_fraction=config.val_fraction, val_data=config.val_data,
                      seed=config.seed, cache_dir=cache_dir, augment=config.augment)
        # Rank 0 decodes and writes the cache; the others wait and then read it instead of decoding too.
        if self.is_main:
            data = prepare_data(config.data, progress=config.progress, **kwargs)
        self._barrier()
        if not self.is_main:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rank 0 already warned about each skipped file
                data = prepare_data(config.data, progress=False, **kwargs)
        return data

    def _make_loader(self, dataset: PhotoDataset, sampler: EpochSampler, batch_size: int, drop_last: bool):
        from torch.utils.data import DataLoader

        return DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last,
            num_workers=self.config.num_workers, pin_memory=self.device.type == "cuda",
            # An explicit generator keeps the loader from drawing on the global RNG (dropout's), which
            # would make results depend on num_workers.
            generator=torch.Generator().manual_seed(self.config.seed),
        )

    # -- models
    def _build_models(self) -> None:
        from colorize.models import PatchDiscriminator, build_generator

        config = self.config
        _seed_everything(config.seed)  # identical initial weights for a given seed, on every rank
        G = build_generator(config.generator, **parse_generator_options(config))
        multiple = int(getattr(G, "size_multiple", 1))
        if config.size % multiple:
            raise ValueError(
                f"size {config.size} is not a multiple of {multiple}, which the {config.generator} generator needs "
                f"(try {max(multiple, config.size // multiple * multiple)})"
            )
        if config.freeze_encoder_epochs and not hasattr(G, "freeze_encoder"):
            raise ValueError(f"--freeze-encoder-epochs: the {config.generator} generator has no encoder to freeze")
        D = PatchDiscriminator(in_channels=3, num_filters=config.disc_filters, n_layers=config.disc_layers)
        if self.world_size > 1 and config.sync_batchnorm:
            G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
            D = nn.SyncBatchNorm.convert_sync_batchnorm(D)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self._G_module = G.to(self.device, memory_format=memory_format)
        self._D_module = D.to(self.device, memory_format=memory_format)
        self._frozen: bool | None = None
        self.G, self.D = self._G_module, self._D_module
        if self.world_size > 1:
            self.D = self._ddp(self._D_module)
        # Different dropout noise on each rank, the same on every rerun.
        torch.manual_seed(config.seed + 7919 * (self.rank + 1))

    def _ddp(self, module: nn.Module) -> nn.Module:
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def _apply_freeze(self, epoch: int) -> None:
        """(Un)freeze the encoder for this epoch; DDP is re-wrapped because it only syncs trainable params."""
        frozen = epoch <= self.config.freeze_encoder_epochs
        if frozen == self._frozen:
            return
        self._frozen = frozen
        if self.config.freeze_encoder_epochs:
            self._G_module.freeze_encoder(frozen)
        if self.world_size > 1:
            self.G = self._ddp(self._G_module)

    def _train_mode(self) -> None:
        self._G_module.train()  # a frozen encoder keeps itself in eval mode (fixed BatchNorm statistics)
        self._D_module.train()

    # -- stages and optimisers
    def _enter_stage(self, stage: str, epoch: int) -> None:
        self._apply_freeze(epoch)
        if stage == self.stage:
            return
        self.stage = stage
        self.opt_G = torch.optim.Adam(self._G_module.parameters())
        self.opt_D = torch.optim.Adam(self._D_module.parameters()) if stage == "gan" else None
        self._apply_optimizer_settings()

    def _apply_optimizer_settings(self) -> None:
        """The stage's learning rate (and betas for the GAN) from the config: on new optimisers, and over a resumed
        optimiser's saved ones. Stage 1 keeps Adam's default betas (0.9, 0.999)."""
        config = self.config
        if self.stage == "pretrain":
            for group in self.opt_G.param_groups:
                group["lr"] = config.pretrain_lr
            return
        for optimizer in (self.opt_G, self.opt_D):
            for group in optimizer.param_groups:
                group["lr"] = config.lr
                group["betas"] = (config.beta1, 0.999)

    # -- one step
    def _gan_step(self, l_norm: torch.Tensor, ab_real: torch.Tensor) -> dict[str, float]:
        amp = autocast_context(self.device, self.precision)
        with amp:
            ab_fake = self.G(l_norm)  # computed once, used by both updates

        # D: real pairs -> real, generated pairs -> fake; the two losses averaged.
        self._D_module.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        with amp:
            pred_fake = self.D(torch.cat([l_norm, ab_fake.detach()], dim=1))
            pred_real = self.D(torch.cat([l_norm, ab_real], dim=1))
        loss_D_fake = self.gan_loss(pred_fake, False)
        loss_D_real = self.gan_loss(pred_real, True)
        loss_D = 0.5 * (loss_D_fake + loss_D_real)
        self.scaler_D.scale(loss_D).backward()
        self.scaler_D.step(self.opt_D)
        self.scaler_D.update()

        # G: fool D (real labels) + lambda * L1. D is only a function here: no grads for it, no DDP sync.
        self._D_module.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        with amp:
            pred = self._D_module(torch.cat([l_norm, ab_fake], dim=1))
        loss_G_GAN = self.gan_loss(pred, True)
        loss_G_L1 = self.l1_loss(ab_fake, ab_real)
        loss_G = loss_G_GAN + loss_G_L1
        self.scaler_G.scale(loss_G).backward()
        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        self._D_module.requires_grad_(True)
        return {"loss_D_fake": loss_D_fake.item(), "loss_D_real": loss_D_real.item(), "loss_D": loss_D.item(),
                "loss_G_GAN": loss_G_GAN.item(), "loss_G_L1": loss_G_L1.item(), "loss_G": loss_G.item()}

    def _pretrain_step(self, l_norm: torch.Tensor, ab_real: torch.Tensor) -> dict[str, float]:
        self.opt_G.zero_grad(set_to_none=True)
        with autocast_context(self.device, self.precision):
            ab_fake = self.G(l_norm)
        loss_G_L1 = self.l1_loss(ab_fake, ab_real)
        self.scaler_G.scale(loss_G_L1).backward()
        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        value = loss_G_L1.item()
        return {"loss_G_L1": value, "loss_G": value}

    # -- one epoch
    def _train_epoch(self, epoch: int, start_batch: int, totals: _EpochTotals) -> tuple[dict[str, Any], bool]:
        config = self.config
        dataset = self.data.train
        dataset.set_epoch(epoch)
        sampler = EpochSampler(len(dataset), seed=config.seed, shuffle=True, num_replicas=self.world_size,
                               rank=self.rank)
        batch_size = min(config.batch_size, sampler.per_rank)
        n_batches = sampler.per_rank // batch_size
        if config.steps_per_epoch is not None:
            n_batches = min(n_batches, config.steps_per_epoch)
        sampler.set_epoch(epoch, start=start_batch * batch_size)
        loader = self._make_loader(dataset, sampler, batch_size, drop_last=True)
        self._train_mode()
        step_fn = self._pretrain_step if self.stage == "pretrain" else self._gan_step

        bar = None
        if config.progress and self.is_main:
            from tqdm import tqdm

            bar = tqdm(total=n_batches, initial=start_batch, desc=f"epoch {epoch}/{config.total_epochs} "
                       f"[{self.stage}]", unit="batch", leave=False, dynamic_ncols=True)
        tick = time.perf_counter()
        images_this_run = 0
        batch_index = start_batch
        finished = True
        for batch in loader:
            if batch_index >= n_batches:
                break
            l_norm, ab_real = batch_to_model_space(batch, self.device, self.channels_last)
            losses = step_fn(l_norm, ab_real)
            n = batch.shape[0]
            totals.add(losses, n)
            images_this_run += n * self.world_size
            batch_index += 1
            self.step += 1
            if bar is not None:
                rate = images_this_run / max(1e-9, time.perf_counter() - tick)
                bar.set_postfix(img_s=f"{rate:.1f}", loss_G=f"{losses['loss_G']:.3f}", refresh=False)
                bar.update(1)
            if self.on_step is not None:
                self.on_step(self, self.step)
            # A stop on the epoch's last batch lets the epoch finish; fit() stops after saving it.
            if batch_index < n_batches and self._should_stop():
                finished = False
                self._save_checkpoint(epoch=epoch - 1, batches_done=batch_index, totals=totals, keep=False)
                break
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - tick
        if not finished:
            if self.is_main:
                print(f"interrupted in epoch {epoch} after {batch_index}/{n_batches} batches; checkpoint saved "
                      f"to {self.checkpoint_dir / 'last.pt'} (continue with --resume)", file=sys.stderr)
            return {}, False
        # Exact epoch means over all ranks.
        keys = list(LOSS_COLUMNS)
        reduced = self._all_reduce_sum([totals.sums[k] for k in keys] + [float(totals.images)])
        totals = _EpochTotals(dict(zip(keys, reduced[:-1])), int(reduced[-1]))
        metrics: dict[str, Any] = {"epoch": epoch, "stage": self.stage, "step": self.step, **totals.means(self.stage)}
        metrics["images_per_s"] = images_this_run / max(1e-9, seconds)
        metrics["seconds"] = seconds
        return metrics, True

    def _should_stop(self) -> bool:
        stop = self._stop_requested
        if self.world_size > 1:
            # Every rank must stop at the same step, or the others hang in the next collective.
            stop = bool(self._all_reduce_sum([1.0 if stop else 0.0])[0] > 0)
        return stop

    # -- validation and samples
    @torch.no_grad()
    def _validate(self) -> float:
        """Mean |predicted ab - real ab| over the validation set (normalised ab units, eval mode), on rank 0."""
        value = float("nan")
        if self.is_main and len(self.data.val):
            G = self._G_module
            G.eval()
            total, count = 0.0, 0
            sampler = EpochSampler(len(self.data.val), shuffle=False)
            loader = self._make_loader(self.data.val, sampler, self.config.batch_size, drop_last=False)
            for batch in loader:
                l_norm, ab_real = batch_to_model_space(batch, self.device, self.channels_last)
                with autocast_context(self.device, self.precision):
                    ab_fake = G(l_norm)
                total += (ab_fake.float() - ab_real).abs().sum().item()
                count += ab_real.numel()
            value = total / count
            self._train_mode()
        if self.world_size > 1:
            value = self._broadcast_float(value)
        return value

    def _broadcast_float(self, value: float) -> float:
        t = torch.tensor([value], dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.broadcast(t, src=0)
        return float(t.item())

    @torch.no_grad()
    def _write_samples(self, epoch: int) -> Path | None:
        from PIL import Image

        from colorize.lab import model_space_to_rgb

        n = min(self.config.num_samples, len(self.data.val))
        if n == 0:
            return None
        batch = torch.stack([self.data.val[i] for i in range(n)])
        l_norm, ab_real = batch_to_model_space(batch, self.device, self.channels_last)
        G = self._G_module
        G.eval()
        with autocast_context(self.device, self.precision):
            ab_fake = G(l_norm).float()
        self._train_mode()
        gray = model_space_to_rgb(l_norm, torch.zeros_like(ab_real))
        grid = make_sample_grid(gray, model_space_to_rgb(l_norm, ab_fake), model_space_to_rgb(l_norm, ab_real))
        path = self.run_dir / "samples" / f"epoch_{epoch:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(path)
        if self._tb is not None:
            self._tb.add_image("samples", grid, epoch, dataformats="HWC")
        return path

    # -- logging
    def _open_logs(self, resumed_epoch: int | None) -> None:
        self._tb = None
        if not self.is_main:
            return
        self.metrics_path = self.run_dir / "metrics.csv"
        if resumed_epoch is not None and self.metrics_path.is_file():
            # Keep exactly the epochs the checkpoint has; a row written after the last save is redone.
            with self.metrics_path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= resumed_epoch]
        else:
            rows = []
        with self.metrics_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        (self.run_dir / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2))
        if self.config.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=resumed_epoch + 1
                                     if resumed_epoch is not None else None)

    def _print_header(self) -> None:
        if not self.is_main:
            return
        d = self.data
        print(f"training {self.config.generator} on {len(d.train)} photos (val {len(d.val)}), "
              f"{self.config.size} px, batch {self.config.batch_size}, {self.device.type} {self.precision}"
              f"{' channels_last' if self.channels_last else ''}, world size {self.world_size}", flush=True)
        print(self._table_row(["epoch", "stage", *LOSS_COLUMNS, "val_l1", "img/s"]), flush=True)

    @staticmethod
    def _table_row(cells: list[Any]) -> str:
        widths = [5, 8] + [11] * len(LOSS_COLUMNS) + [8, 7]
        return " ".join(f"{c:>{w}}" for c, w in zip(cells, widths))

    def _log_epoch(self, epoch: int, metrics: dict[str, Any]) -> None:
        cells = [epoch, metrics["stage"], *(_fmt(metrics[k]) for k in LOSS_COLUMNS), _fmt(metrics["val_l1"]),
                 f"{metrics['images_per_s']:.1f}"]
        print(self._table_row(cells), flush=True)
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

    # -- checkpoints
    def _keep_epoch(self, epoch: int) -> bool:
        c = self.config
        return epoch % c.keep_every == 0 or epoch in (c.pretrain_epochs, c.total_epochs)

    def _checkpoint_state(self, *, epoch: int, batches_done: int, totals: _EpochTotals) -> dict[str, Any]:
        G = self._G_module
        rng = _rng_state()
        if self.world_size > 1:
            gathered: list[Any] = [None] * self.world_size
            torch.distributed.all_gather_object(gathered, rng)
            rng_by_rank = gathered
        else:
            rng_by_rank = [rng]
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "arch": G.arch,
            "generator_config": dict(G.config),
            "generator": G.state_dict(),
            "discriminator": self._D_module.state_dict(),
            "discriminator_config": dict(self._D_module.config),
            "optimizer_G": self.opt_G.state_dict() if self.opt_G is not None else None,
            "optimizer_D": self.opt_D.state_dict() if self.opt_D is not None else None,
            "scaler_G": self.scaler_G.state_dict(),
            "scaler_D": self.scaler_D.state_dict(),
            "stage": self.stage,
            "epoch": epoch,  # epochs fully completed
            "batches_done": batches_done,  # batches into epoch + 1 (an interrupted epoch)
            "partial_sums": dict(totals.sums),
            "partial_images": totals.images,
            "step": self.step,
            "config": self.config.to_dict(),
            "rng": rng_by_rank,
            "world_size": self.world_size,
        }

    def _save_checkpoint(self, *, epoch: int, batches_done: int, totals: _EpochTotals, keep: bool) -> None:
        state = self._checkpoint_state(epoch=epoch, batches_done=batches_done, totals=totals)
        if self.is_main:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            last = self.checkpoint_dir / "last.pt"
            tmp = last.with_suffix(".pt.tmp")
            torch.save(state, tmp)
            os.replace(tmp, last)  # never leave a half-written last.pt behind
            if keep:
                torch.save(state, self.checkpoint_dir / f"epoch_{epoch:03d}.pt")
        self._barrier()

    def _load_resume_checkpoint(self) -> dict[str, Any]:
        path = Path(self.config.out) / "checkpoints" / "last.pt"
        if not path.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {path}")
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a colorize training checkpoint")
        return ckpt

    def _merge_resumed_config(self, saved: dict[str, Any]) -> TrainConfig:
        """The checkpoint decides what is trained; the command line may change how long and how (workers...)."""
        saved_config = TrainConfig.from_dict(saved)
        given = self.config
        changes = {name: getattr(saved_config, name) for name in _RUN_DEFINING_FIELDS}
        differing = [n for n in _RUN_DEFINING_FIELDS
                     if getattr(given, n) != changes[n] and getattr(given, n) != _field_default(n)]
        if differing and self.is_main:
            print("resume: keeping the checkpoint's " + ", ".join(
                f"{n}={changes[n]}" for n in differing) + " (the run's data and model cannot change)",
                file=sys.stderr)
        merged = dataclasses.replace(given, **changes)
        merged.validate()
        return merged

    def _restore(self, ckpt: dict[str, Any]) -> tuple[int, int, _EpochTotals]:
        self._G_module.load_state_dict(ckpt["generator"])
        self._D_module.load_state_dict(ckpt["discriminator"])
        self.step = int(ckpt["step"])
        done, batches_done = int(ckpt["epoch"]), int(ckpt["batches_done"])
        next_epoch = done + 1
        if next_epoch > self.config.total_epochs:
            raise ValueError(f"the checkpoint has already completed {done} epochs; raise --gan-epochs (or "
                             f"--pretrain-epochs) above {done - self.config.pretrain_epochs} to train further")
        saved_stage = ckpt["stage"]
        self._enter_stage(self.config.stage_of(next_epoch), next_epoch)
        if saved_stage == self.stage:
            self.opt_G.load_state_dict(ckpt["optimizer_G"])
            if self.opt_D is not None and ckpt["optimizer_D"] is not None:
                self.opt_D.load_state_dict(ckpt["optimizer_D"])
            self._apply_optimizer_settings()  # the saved state brings its own lr / betas; the command line wins
            self.scaler_G.load_state_dict(ckpt["scaler_G"])
            self.scaler_D.load_state_dict(ckpt["scaler_D"])
        elif batches_done:
            raise ValueError("the checkpoint was interrupted inside a stage that the new epoch counts move")
        rngs = ckpt["rng"]
        if int(ckpt.get("world_size", 1)) == self.world_size:
            _set_rng_state(rngs[self.rank])
        else:
            torch.manual_seed(self.config.seed + 7919 * (self.rank + 1) + 104_729 * next_epoch)
            if self.is_main:
                print(f"resume: world size changed ({ckpt.get('world_size', 1)} -> {self.world_size}); "
                      "the run continues but cannot replay the uninterrupted one exactly", file=sys.stderr)
        if self.is_main:
            where = f"epoch {next_epoch}" + (f", batch {batches_done + 1}" if batches_done else "")
            print(f"resuming {self.run_dir} at {where} (stage {self.stage}, step {self.step})", flush=True)
        totals = _EpochTotals(ckpt["partial_sums"], int(ckpt["partial_images"]))
        return next_epoch, batches_done, totals

    # -- Ctrl-C
    def _install_sigint_handler(self):
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self._stop_requested:  # second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop_requested = True
            if self.is_main:
                print("\nCtrl-C: finishing this step and saving a checkpoint (press again to quit at once)",
                      file=sys.stderr, flush=True)

        return signal.signal(signal.SIGINT, handler)

    @staticmethod
    def _restore_sigint_handler(previous) -> None:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Convenience: `train(data=..., out=..., gan_epochs=...)` == `Trainer(TrainConfig(...)).fit()`."""
    config = dataclasses.replace(config, **overrides) if config is not None else TrainConfig(**overrides)
    return Trainer(config).fit()
