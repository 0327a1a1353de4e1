"""Training: the pix2pix conditional GAN in L*a*b, optionally after an L1-only pretraining stage.

`Trainer(TrainConfig(...)).fit()` runs up to two stages over the epochs 1..pretrain_epochs+gan_epochs:

* "pretrain" (epochs 1..pretrain_epochs): the generator alone, L1 loss, Adam 1e-4 (`steps.L1Step`). Starting the
  GAN from a generator that already predicts plausible colours is what makes the pretrained-encoder U-Net work on
  small data.
* "gan" (the rest): pix2pix, one `steps.GANStep` per batch: D on (L, fake) vs (L, real), then G with the GAN loss
  + lambda x L1. Adam 2e-4, betas (0.5, 0.999).

Every epoch appends a row to RUN_DIR/metrics.csv (and TensorBoard), writes a sample grid (gray | predicted | real)
of fixed validation photos to RUN_DIR/samples/, and a checkpoint to RUN_DIR/checkpoints/last.pt that holds
everything needed to continue bit for bit (see `checkpoint`). Ctrl-C finishes the current step, saves, and stops.
The run ends by exporting the generator (its moving average with --ema-decay) to RUN_DIR/generator.safetensors.

Runs unchanged under `torchrun` (DDP for G and D, a per-epoch seeded sampler per rank, rank 0 alone logs and saves).
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorize.colour_classes import photo_ab_samples
from colorize.data import EpochSampler, batch_to_model_space
from colorize.degrade import degrade_l
from colorize.hints import sample_hints
from colorize.models import save_generator
from colorize.train.checkpoint import (
    checkpoint_state,
    keeps_epoch,
    load_checkpoint,
    merge_resumed_config,
    restore_networks,
    restore_rng,
    resume_position,
    rng_state,
    save_checkpoint,
)
from colorize.train.config import TrainConfig, TrainResult
from colorize.train.interrupt import StopRequest, ctrl_c_requests_stop
from colorize.train.loaders import make_loader, prepare_run_data, split_change
from colorize.train.logging import CSV_COLUMNS, ProgressBar, RunLog, make_sample_grid
from colorize.train.networks import InitialWeights, build_networks, read_initial_weights
from colorize.train.runtime import Runtime, autocast_context
from colorize.train.steps import LOSS_COLUMNS, EpochTotals, TrainStep, build_step
from colorize.train.validation import sample_grid, validation_l1

#: keeps the hint sampling's seeds apart from the degradations' (both are seeded by the step)
_HINT_SEED_OFFSET = 1 << 40

__all__ = ["CSV_COLUMNS", "LOSS_COLUMNS", "Trainer", "autocast_context", "make_sample_grid", "train"]


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
        self.runtime = Runtime(config.device, config.precision, config.channels_last, config.num_threads)
        self._stop = StopRequest()
        self._budget_reached = False
        self.step = 0  # optimisation steps taken by the run
        self.train_step: TrainStep | None = None

    @property
    def generator(self) -> nn.Module:
        """The generator being trained (without its DDP wrapper)."""
        return self.networks.generator

    @property
    def discriminator(self) -> nn.Module:
        return self.networks.discriminator

    @property
    def stage(self) -> str | None:
        return self.train_step.stage if self.train_step is not None else None

    @property
    def opt_G(self):
        return self.train_step.opt_G if self.train_step is not None else None

    @property
    def opt_D(self):
        return self.train_step.opt_D if self.train_step is not None else None

    def initial_val_l1(self) -> float:
        """val_l1 of the generator a fresh `fit()` would start from: same data, seeded weights and precision.

        The step-0 point of a learning curve (e.g. to compare how fast two generators learn from where they start).
        """
        initial = self._initial_weights()
        self.data = prepare_run_data(self.config, self.run_dir, self.runtime)
        self.networks = build_networks(self.config, self.runtime, initial)
        return self._validate()

    def request_stop(self) -> None:
        """Finish the current step, save a checkpoint, and return from fit() (what Ctrl-C does)."""
        self._stop.request()

    def fit(self) -> TrainResult:
        started = time.perf_counter()
        with self.runtime.started():
            return self._fit(started)

    def _fit(self, started: float) -> TrainResult:
        checkpoint = load_checkpoint(self.checkpoint_dir / "last.pt") if self.config.resume else None
        if checkpoint is not None:
            self.config = merge_resumed_config(self.config, checkpoint["config"], announce=self.runtime.is_main)
        config = self.config
        initial = self._initial_weights() if checkpoint is None else None
        self.data = prepare_run_data(config, self.run_dir, self.runtime)  # before anything is written
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.networks = build_networks(config, self.runtime, initial)
        self.scalers = {"G": self.runtime.grad_scaler(), "D": self.runtime.grad_scaler()}
        self._cpu_started = time.process_time()  # --cpu-minutes counts training, not decoding photos into the cache
        start_epoch, start_batch, totals = 1, 0, EpochTotals()
        if checkpoint is not None:
            start_epoch, start_batch, totals = self._restore(checkpoint)
        self.log = None  # rank 0 alone logs
        if self.runtime.is_main:
            self.log = RunLog(self.run_dir, config, resumed_epoch=start_epoch - 1 if checkpoint else None)
            self.log.print_header(self._description())

        last_metrics: dict[str, Any] = {}
        epochs_completed, interrupted = start_epoch - 1, False
        with ctrl_c_requests_stop(self._stop, announce=self.runtime.is_main):
            try:
                for epoch in range(start_epoch, config.total_epochs + 1):
                    self._enter_stage(config.stage_of(epoch), epoch)
                    metrics = self._train_epoch(epoch, start_batch, totals)
                    start_batch, totals = 0, EpochTotals()
                    if metrics is None:  # stopped inside the epoch; its checkpoint is saved
                        interrupted = True
                        break
                    metrics["val_l1"] = self._validate()
                    last_metrics, epochs_completed = metrics, epoch
                    if self.log:
                        self.log.log_epoch(epoch, metrics)
                        if epoch % config.sample_every == 0 or epoch == config.total_epochs:
                            self._write_samples(epoch)
                    self._save(epoch, batches_done=0, totals=EpochTotals(), keep=keeps_epoch(config, epoch))
                    if self._should_stop():
                        interrupted = epoch < config.total_epochs
                        break
            finally:
                if self.log:
                    self.log.close()
        # A spent --cpu-minutes budget is the run's planned end, not an interruption: it exports its generator.
        return self._result(started, epochs_completed, interrupted and not self._budget_reached, last_metrics)

    def _enter_stage(self, stage: str, epoch: int) -> None:
        """The encoder's frozen state for this epoch; new optimisers when the stage changes."""
        self.networks.set_encoder_frozen(epoch <= self.config.freeze_encoder_epochs)
        if stage == self.stage:
            return
        self.train_step = build_step(stage, self.networks, self.config, self.runtime, self.scalers,
                                     colour_samples=self._colour_samples)

    def _train_epoch(self, epoch: int, start_batch: int, totals: EpochTotals) -> dict[str, Any] | None:
        """One epoch from batch `start_batch` on: its metrics, or None when a stop request interrupted it."""
        config, runtime = self.config, self.runtime
        dataset = self.data.train
        dataset.set_epoch(epoch)
        sampler = EpochSampler(len(dataset), seed=config.seed, shuffle=True, num_replicas=runtime.world_size,
                               rank=runtime.rank, weights=self.data.train_weights)
        batch_size = min(config.batch_size, sampler.per_rank)
        n_batches = sampler.per_rank // batch_size
        if config.steps_per_epoch is not None:
            n_batches = min(n_batches, config.steps_per_epoch)
        sampler.set_epoch(epoch, start=start_batch * batch_size)
        loader = self._loader(dataset, sampler, batch_size, drop_last=True)
        self.networks.train_mode()
        bar = ProgressBar(f"epoch {epoch}/{config.total_epochs} [{self.stage}]", n_batches, start_batch) \
            if config.progress and runtime.is_main else None
        tick, images_this_run, batch_index = time.perf_counter(), 0, start_batch
        for batch in loader:
            if batch_index >= n_batches:
                break
            l_norm, ab_real = batch_to_model_space(batch, runtime.device, runtime.channels_last)
            if config.degrade:
                l_norm = degrade_l(l_norm, self._step_generator())
            hints = self._sample_hints(ab_real) if config.hints else None
            losses = self.train_step(l_norm, ab_real, hints)
            totals.add(losses, batch.shape[0])
            images_this_run += batch.shape[0] * runtime.world_size
            batch_index += 1
            self.step += 1
            if bar is not None:
                bar.show(images_this_run / max(1e-9, time.perf_counter() - tick), losses["loss_G"])
            if self.on_step is not None:
                self.on_step(self, self.step)
            self._check_cpu_budget()
            # A stop on the epoch's last batch lets the epoch finish; fit() stops after saving it.
            if batch_index < n_batches and self._should_stop():
                if bar is not None:
                    bar.close()
                self._save(epoch - 1, batches_done=batch_index, totals=totals, keep=False)
                if runtime.is_main:
                    print(f"interrupted in epoch {epoch} after {batch_index}/{n_batches} batches; checkpoint saved "
                          f"to {self.checkpoint_dir / 'last.pt'} (continue with --resume)", file=sys.stderr)
                return None
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - tick
        reduced = runtime.all_reduce_sum([totals.sums[k] for k in LOSS_COLUMNS] + [float(totals.images)])
        totals = EpochTotals(dict(zip(LOSS_COLUMNS, reduced[:-1])), int(reduced[-1]))  # exact means over all ranks
        return {"epoch": epoch, "stage": self.stage, "step": self.step, **totals.means(self.stage),
                "images_per_s": images_this_run / max(1e-9, seconds), "seconds": seconds}

    def _sample_hints(self, ab_real: torch.Tensor) -> torch.Tensor:
        """Hint planes drawn from the batch's real colours, on a random stream apart from the degradations'."""
        return sample_hints(ab_real, self._step_generator(_HINT_SEED_OFFSET)).to(
            memory_format=self.runtime.memory_format)

    def _step_generator(self, stream: int = 0) -> torch.Generator:
        """Randomness seeded by the run's seed and step (one stream per use), so a resumed run draws for each batch
        exactly what the uninterrupted one drew."""
        return torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.step + stream)

    def _check_cpu_budget(self) -> None:
        minutes = self.config.cpu_minutes
        if minutes is None or self._budget_reached or time.process_time() - self._cpu_started < minutes * 60:
            return
        self._budget_reached = True
        if self.runtime.is_main:
            print(f"CPU budget of {minutes:g} min reached at step {self.step}: stopping", file=sys.stderr, flush=True)
        self._stop.request()

    def _should_stop(self) -> bool:
        # Every rank must stop at the same step, or the others hang in the next collective.
        return self.runtime.any_rank(self._stop.requested)

    def _loader(self, dataset, sampler: EpochSampler, batch_size: int, drop_last: bool):
        return make_loader(dataset, sampler, batch_size, drop_last=drop_last, num_workers=self.config.num_workers,
                           runtime=self.runtime, seed=self.config.seed)

    def _validate(self) -> float:
        """val_l1 of the evaluated generator, computed on rank 0 and shared with the others."""
        value = float("nan")
        if self.runtime.is_main and len(self.data.val):
            value = validation_l1(self.networks.evaluated_generator, self.data.val, self.runtime,
                                  lambda dataset, sampler: self._loader(dataset, sampler, self.config.batch_size,
                                                                        drop_last=False))
            self.networks.train_mode()
        return self.runtime.broadcast_from_main(value)

    def _write_samples(self, epoch: int) -> None:
        grid = sample_grid(self.networks.evaluated_generator, self.data.val, self.config.num_samples, self.runtime)
        self.networks.train_mode()
        if grid is not None:
            self.log.log_samples(epoch, grid)

    def _save(self, epoch: int, *, batches_done: int, totals: EpochTotals, keep: bool) -> None:
        state = checkpoint_state(config=self.config, networks=self.networks, train_step=self.train_step,
                                 scalers=self.scalers, epoch=epoch, batches_done=batches_done, totals=totals,
                                 step=self.step, rng_by_rank=self.runtime.gather(rng_state()))
        if self.runtime.is_main:
            save_checkpoint(state, self.checkpoint_dir, keep_as_epoch=epoch if keep else None)
        self.runtime.barrier()

    def _restore(self, ckpt: dict[str, Any]) -> tuple[int, int, EpochTotals]:
        restore_networks(self.networks, ckpt)
        self.step = int(ckpt["step"])
        next_epoch, batches_done = resume_position(ckpt, self.config)
        self._enter_stage(self.config.stage_of(next_epoch), next_epoch)
        if ckpt["stage"] == self.stage:  # the stage's optimisers and loss scalers continue
            self.train_step.load_optimizer_state(ckpt)
            for name, scaler in self.scalers.items():
                scaler.load_state_dict(ckpt[f"scaler_{name}"])
        runtime = self.runtime
        fallback_seed = self.config.seed + 7919 * (runtime.rank + 1) + 104_729 * next_epoch
        exact = restore_rng(ckpt, runtime.rank, runtime.world_size, fallback_seed)
        if runtime.is_main:
            if not exact:
                print(f"resume: world size changed ({ckpt.get('world_size', 1)} -> {runtime.world_size}); "
                      "the run continues but cannot replay the uninterrupted one exactly", file=sys.stderr)
            where = f"epoch {next_epoch}" + (f", batch {batches_done + 1}" if batches_done else "")
            print(f"resuming {self.run_dir} at {where} (stage {self.stage}, step {self.step})", flush=True)
        return next_epoch, batches_done, EpochTotals(ckpt["partial_sums"], int(ckpt["partial_images"]))

    def _colour_samples(self) -> torch.Tensor:
        """The train photos' a*b* (up to 512 photos, evenly spaced): a colour-class loss's rebalancing counts them."""
        images = self.data.train.images
        count = min(len(images), 512)
        return photo_ab_samples([images[i * len(images) // count] for i in range(count)])

    def _initial_weights(self) -> InitialWeights | None:
        c = self.config
        if c.init_from is None:
            return None
        initial = read_initial_weights(c.init_from, c.generator, c.hints)
        change = split_change(c, initial.run_config)
        if change and self.runtime.is_main:
            warnings.warn(f"--init-from {c.init_from}: same --data, another train/val split ({change}); most of "
                          "that run's val photos may train here, so do not compare the two on its val split",
                          stacklevel=2)
        return initial

    def _description(self) -> str:
        c, r, d = self.config, self.runtime, self.data
        extras = "".join([f", D {c.discriminator}" if c.discriminator != "patch" else "",
                          f", EMA {c.ema_decay:g}" if c.ema_decay is not None else "",
                          f", feature loss {c.feature_loss:g}" if c.feature_loss else "",
                          ", degraded L" if c.degrade else "",
                          ", colour hints" if c.hints else "",
                          f", folders drawn {' '.join(c.folder_weight)}" if c.folder_weight else "",
                          f", CPU budget {c.cpu_minutes:g} min" if c.cpu_minutes else ""])
        return (f"training {c.generator} on {len(d.train)} photos (val {len(d.val)}), {c.size} px, batch "
                f"{c.batch_size}, {r.device.type} {r.precision}{' channels_last' if r.channels_last else ''}, world "
                f"size {r.world_size}{extras}")

    def _result(self, started: float, epochs_completed: int, interrupted: bool,
                last_metrics: dict[str, Any]) -> TrainResult:
        generator_path = None
        if not interrupted and self.runtime.is_main:
            generator_path = save_generator(self.networks.evaluated_generator, self.run_dir / "generator.safetensors")
        d = self.data
        result = TrainResult(
            run_dir=self.run_dir, files_found=d.files_found, train_images=len(d.train), val_images=len(d.val),
            skipped=d.skipped, grayscale_skipped=len(d.grayscale), epochs_completed=epochs_completed,
            seconds=time.perf_counter() - started, interrupted=interrupted, last_metrics=last_metrics,
            checkpoint=self.checkpoint_dir / "last.pt", generator_path=generator_path,
            is_main_process=self.runtime.is_main,
        )
        if self.log:
            self.log.write_summary(result, precision=self.runtime.precision,
                                   channels_last=self.runtime.channels_last, world_size=self.runtime.world_size)
        return result


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Convenience: `train(data=..., out=..., gan_epochs=...)` == `Trainer(TrainConfig(...)).fit()`."""
    config = dataclasses.replace(config, **overrides) if config is not None else TrainConfig(**overrides)
    return Trainer(config).fit()
