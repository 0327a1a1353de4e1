"""The `colorize train` configuration and run summary: plain dataclasses, importable without torch (the CLI
builds its options from TrainConfig when `colorize --help` runs)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Literal, Optional

#: pix2pix weights the L1 term 100x against the GAN term.
DEFAULT_LAMBDA_L1 = 100.0

_PATH_FIELDS = ("data", "out", "val_data", "encoder_weights", "cache_dir", "init_from")

#: Config fields that define the model and its data; a resumed run takes them from the checkpoint.
_RUN_DEFINING_FIELDS = (
    "data", "val_data", "size", "load_size", "generator", "num_filters", "num_downs", "dropout", "pretrained",
    "encoder_weights", "generator_option", "discriminator", "discriminator_option", "disc_filters", "disc_layers",
    "gan_mode", "lambda_l1", "seed", "max_images", "val_images", "val_fraction", "batch_size", "augment",
    "init_from", "ema_decay", "feature_loss", "degrade", "hints",
)


@dataclass
class TrainConfig:
    data: Optional[Path] = field(default=None, metadata={"help": "folder of training photos (searched recursively)"})
    out: Path = field(default=Path("runs/colorize"), metadata={
        "help": "run directory for checkpoints, metrics, samples"})
    val_data: Optional[Path] = field(default=None, metadata={
        "help": "separate folder of validation photos; without it val is split off --data"})
    size: int = field(default=256, metadata={"help": "training crop size in pixels (multiple of the generator's"
                                                     " size_multiple)"})
    load_size: Optional[int] = field(default=None, metadata={
        "help": "photos are resized (short side) and centre-cropped to this square before the random crop; "
                "default size * 1.125"})
    batch_size: int = field(default=16, metadata={"help": "images per step (per process under torchrun)"})
    generator: str = field(default="efficientnet_lite0", metadata={
        "help": "generator architecture (see `colorize models`)"})
    num_filters: Optional[int] = field(default=None, metadata={
        "help": "pix2pix U-Net width (arch default if unset)"})
    num_downs: Optional[int] = field(default=None, metadata={"help": "pix2pix U-Net levels (8 at 256 px)"})
    dropout: Optional[float] = field(default=None, metadata={
        "help": "pix2pix U-Net dropout (arch default if unset)"})
    pretrained: bool = field(default=True, metadata={"help": "start encoder U-Nets from ImageNet weights"})
    encoder_weights: Optional[Path] = field(default=None, metadata={"help": "local file of encoder weights"})
    generator_option: tuple[str, ...] = field(default=(), metadata={
        "help": "extra generator kwargs as KEY=VALUE (VALUE parsed as JSON when possible)"})
    discriminator: str = field(default="patch", metadata={
        "help": "discriminator kind (`colorize models` lists them); patch = the pix2pix 70x70 PatchGAN"})
    discriminator_option: tuple[str, ...] = field(default=(), metadata={
        "help": "extra discriminator kwargs as KEY=VALUE (VALUE parsed as JSON when possible)"})
    disc_filters: int = field(default=64, metadata={"help": "PatchGAN discriminator width"})
    disc_layers: int = field(default=3, metadata={"help": "PatchGAN layers (3 = 70x70 patches)"})
    init_from: Optional[Path] = field(default=None, metadata={
        "help": "start a new run with G's weights from this checkpoint or generator file (and D's from a "
                "checkpoint with the same discriminator); epochs, optimisers and RNG start fresh"})
    ema_decay: Optional[float] = field(default=None, metadata={
        "help": "keep an exponential moving average of G's weights with this decay (e.g. 0.999) and validate, "
                "draw and export it (off if unset)"})
    pretrain_epochs: int = field(default=0, metadata={"help": "stage 1: epochs of L1-only generator training"})
    gan_epochs: int = field(default=20, metadata={"help": "stage 2: epochs of full GAN training"})
    pretrain_lr: float = field(default=1e-4, metadata={"help": "Adam learning rate of the L1 pretraining stage"})
    lr: float = field(default=2e-4, metadata={"help": "Adam learning rate of G and D in the GAN stage"})
    beta1: float = field(default=0.5, metadata={"help": "Adam beta1 in the GAN stage"})
    gan_mode: Literal["vanilla", "lsgan"] = field(default="vanilla", metadata={"help": "GAN loss"})
    lambda_l1: float = field(default=DEFAULT_LAMBDA_L1, metadata={"help": "weight of the L1 term in G's loss"})
    feature_loss: float = field(default=0.0, metadata={
        "help": "weight of a feature (perceptual) term in G's loss, both stages: distance between frozen ImageNet "
                "EfficientNet-Lite0 features of the predicted and the real colours (0 = off)"})
    freeze_encoder_epochs: int = field(default=0, metadata={
        "help": "keep a pretrained encoder frozen for this many epochs from the start"})
    seed: int = field(default=0, metadata={"help": "seed of the split, augmentation, init and dropout"})
    device: Literal["auto", "cpu", "cuda", "mps"] = field(default="auto", metadata={
        "help": "auto = cuda when available, else cpu"})
    precision: Literal["auto", "fp32", "bf16", "fp16"] = field(default="auto", metadata={
        "help": "auto = bf16 on cuda, the measured faster one on cpu; fp16 = CUDA AMP with loss scaling"})
    channels_last: Optional[bool] = field(default=None, metadata={
        "help": "NHWC memory format (unset = the measured faster one)"})
    num_threads: Optional[int] = field(default=None, metadata={
        "help": "torch CPU threads (unset = torch's default, one per core); 1 helps on a machine shared with "
                "other jobs"})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes"})
    cache: bool = field(default=True, metadata={"help": "keep decoded photos in a uint8 memmap so epochs after the"
                                                        " first skip JPEG decoding"})
    cache_dir: Optional[Path] = field(default=None, metadata={"help": "where the cache lives (default RUN_DIR/cache)"})
    max_images: int = field(default=10_000, metadata={"help": "photos sampled from --data (seeded)"})
    val_images: int = field(default=2_000, metadata={
        "help": "validation photos (at most --val-fraction of the sample)"})
    val_fraction: float = field(default=0.2, metadata={"help": "cap on the share of sampled photos used for val"})
    folder_weight: tuple[str, ...] = field(default=(), metadata={
        "help": "FOLDER=WEIGHT ...: draw the train photos under --data's subfolder FOLDER WEIGHT times as often as "
                "the others (with replacement; the train/val split does not change)"})
    augment: bool = field(default=True, metadata={"help": "random crops and horizontal flips of train photos"})
    degrade: bool = field(default=False, metadata={
        "help": "train on old-photo degradations of L (fading, blur, noise, grain, JPEG); the target colours stay "
                "the clean photo's"})
    hints: bool = field(default=False, metadata={
        "help": "train a hint-aware generator (encoder U-Nets): each step shows it colour hints sampled from the "
                "real photo (none for half the photos), so it colorizes alone and follows user hints"})
    cpu_minutes: Optional[float] = field(default=None, metadata={
        "help": "stop like Ctrl-C (checkpoint saved, generator exported) once this invocation's training has used "
                "this much process CPU time: equal budgets for runs compared side by side on a shared machine"})
    steps_per_epoch: Optional[int] = field(default=None, metadata={"help": "cap on steps per epoch"})
    num_samples: int = field(default=6, metadata={"help": "validation photos in each epoch's sample grid"})
    sample_every: int = field(default=1, metadata={"help": "write a sample grid every N epochs"})
    keep_every: int = field(default=5, metadata={
        "help": "also keep checkpoints/epoch_NNN.pt every N epochs (and at the end of each stage)"})
    resume: bool = field(default=False, metadata={"help": "continue from RUN_DIR/checkpoints/last.pt"})
    sync_batchnorm: bool = field(default=False, metadata={"help": "SyncBatchNorm across torchrun processes"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard scalars to RUN_DIR/tensorboard"})

    def __post_init__(self) -> None:
        for name in _PATH_FIELDS:  # accept str from Python callers
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))
        self.generator_option = tuple(self.generator_option)
        self.discriminator_option = tuple(self.discriminator_option)
        self.folder_weight = tuple(self.folder_weight)
        if not self.resume:  # a resumed run takes its networks from the checkpoint, checked after the merge
            self.check_network_options()

    def check_network_options(self) -> None:
        """A clear ValueError for a network option the chosen generator or discriminator does not take."""
        from colorize.train.networks import check_network_options

        check_network_options(self)

    def folder_weights(self) -> dict[str, float]:
        return parse_folder_weights(self.folder_weight)

    @property
    def total_epochs(self) -> int:
        return self.pretrain_epochs + self.gan_epochs

    def stage_of(self, epoch: int) -> str:
        return "pretrain" if epoch <= self.pretrain_epochs else "gan"

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        hints = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for k, v in values.items():
            if k not in hints:
                continue
            if isinstance(v, list):
                v = tuple(v)
            kwargs[k] = v
        return cls(**kwargs)

    def validate(self) -> None:
        for name in ("size", "batch_size", "max_images", "sample_every", "keep_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("pretrain_epochs", "gan_epochs", "freeze_encoder_epochs", "num_workers", "val_images",
                     "num_samples"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.total_epochs < 1:
            raise ValueError("nothing to train: pretrain_epochs + gan_epochs must be at least 1")
        if self.feature_loss < 0:
            raise ValueError(f"feature_loss must be >= 0, got {self.feature_loss}")
        if self.cpu_minutes is not None and self.cpu_minutes <= 0:
            raise ValueError(f"cpu_minutes must be positive, got {self.cpu_minutes}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), e.g. 0.999, got {self.ema_decay}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be at least 1")
        self.folder_weights()  # raises on a bad item
        if not self.resume and self.data is None:
            raise ValueError("no training data: pass data (--data DIR)")


@dataclass
class TrainResult:
    """The run summary: what was used, what was skipped, how long it took and where the outputs are."""

    run_dir: Path
    files_found: int
    train_images: int
    val_images: int
    skipped: list[tuple[Path, str]]
    grayscale_skipped: int
    epochs_completed: int
    seconds: float
    interrupted: bool = False
    is_main_process: bool = True  # False on the other ranks under torchrun
    last_metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None
    generator_path: Path | None = None

    def summary(self) -> str:
        lines = [
            f"run directory     {self.run_dir}",
            f"photos found      {self.files_found}",
            f"used              {self.train_images} train, {self.val_images} val",
            f"skipped files     {len(self.skipped)} unreadable, {self.grayscale_skipped} grayscale",
        ]
        lines += [f"  - {path}: {reason}" for path, reason in self.skipped[:20]]
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more")
        lines.append(f"epochs completed  {self.epochs_completed}{' (interrupted)' if self.interrupted else ''}")
        if self.last_metrics:
            m = self.last_metrics
            lines.append(f"last epoch        loss_G {_fmt(m.get('loss_G'))}, val_l1 {_fmt(m.get('val_l1'))}")
        lines.append(f"time              {self.seconds:.1f} s")
        if self.checkpoint:
            lines.append(f"checkpoint        {self.checkpoint}")
        if self.generator_path:
            lines.append(f"generator         {self.generator_path}")
        return "\n".join(lines)


def parse_folder_weights(items: Sequence[str]) -> dict[str, float]:
    """`["bsds500-train=8", ...]` -> {"bsds500-train": 8.0}: a clear ValueError for anything else."""
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weight = float(value) if sep and name else -1.0
        except ValueError:
            weight = -1.0
        if not weight > 0 or not math.isfinite(weight):
            raise ValueError(f"folder weight {item!r}: expected FOLDER=WEIGHT with a positive WEIGHT, "
                             "e.g. bsds500-train=8")
        weights[name] = weight
    return weights


def _fmt(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _field_default(name: str) -> Any:
    f = {f.name: f for f in dataclasses.fields(TrainConfig)}[name]
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


