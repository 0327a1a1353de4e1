"""A run's generator and discriminator: options from the TrainConfig, seeded building, `--init-from` weights.

A TrainConfig field that is a network option (--num-filters, --disc-layers, ...) goes to the network when its
architecture takes that option; set to anything but its default for an architecture that does not, it is an error
that names the options the architecture accepts, raised before a run writes anything. Any other option goes through
--generator-option / --discriminator-option KEY=VALUE.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorize.models import (
    FreezableEncoder,
    HintFreeStart,
    predicts_classes,
    build_discriminator,
    build_generator,
    discriminator_options,
    generator_options,
)
from colorize.models.generator_file import (
    build_saved_generator,
    is_safetensors_file,
    read_checkpoint_file,
    read_generator_file,
)
from colorize.models.registry import check_discriminator_options, check_generator_options
from colorize.models.wrappers import strip_wrapper_prefixes
from colorize.train.checkpoint import seed_everything
from colorize.train.config import TrainConfig, _field_default
from colorize.train.ema import GeneratorEMA
from colorize.train.runtime import Runtime

#: TrainConfig field -> the generator option it sets.
GENERATOR_FIELDS = {"num_filters": "num_filters", "num_downs": "num_downs", "dropout": "dropout",
                    "pretrained": "pretrained", "encoder_weights": "encoder_weights"}
#: TrainConfig field -> the discriminator option it sets.
DISCRIMINATOR_FIELDS = {"disc_filters": "num_filters", "disc_layers": "n_layers"}
#: Fields that mean "where the architecture has this": for one without pretrained weights, pretrained=False holds
#: trivially, so it is ignored rather than refused.
_IGNORED_WHERE_NOT_TAKEN = ("pretrained",)


def parse_key_values(items: tuple[str, ...], flag: str) -> dict[str, Any]:
    """KEY=VALUE strings -> {KEY: VALUE}, VALUE parsed as JSON when it is JSON, else kept as a string."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _network_kwargs(config: TrainConfig, fields: dict[str, str], accepted: tuple[str, ...] | None, name: str,
                    kind: str, extra_flag: str, extra: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for field_name, option in fields.items():
        value = getattr(config, field_name)
        if value is None:
            continue
        if accepted is None or option in accepted:
            options[option] = str(value) if isinstance(value, Path) else value
        elif value != _field_default(field_name) and field_name not in _IGNORED_WHERE_NOT_TAKEN:
            raise ValueError(
                f"--{field_name.replace('_', '-')} ({field_name}={value!r}) does not apply to the {name} {kind}; "
                f"it accepts: {', '.join(accepted) or 'no options'} (set them with {extra_flag} KEY=VALUE)")
    options.update(parse_key_values(extra, extra_flag))
    return options


def generator_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The options for `build_generator(config.generator, ...)`, checked against what the architecture takes."""
    accepted = generator_options(config.generator)
    options = _network_kwargs(config, GENERATOR_FIELDS, accepted, config.generator,
                              "generator", "--generator-option", config.generator_option)
    if config.hints:  # only when on: a hint-free run's options stay what they were before hints existed
        if accepted is not None and "hints" not in accepted:
            raise ValueError(f"--hints: the {config.generator} generator takes no colour hints (the encoder U-Nets, "
                             "e.g. efficientnet_lite0, do)")
        options["hints"] = True
    check_generator_options(config.generator, options)
    return options


def discriminator_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The options for `build_discriminator(config.discriminator, ...)`, checked like the generator's."""
    accepted = discriminator_options(config.discriminator)
    options = _network_kwargs(config, DISCRIMINATOR_FIELDS, accepted, config.discriminator, "discriminator",
                              "--discriminator-option", config.discriminator_option)
    if accepted is None or "in_channels" in accepted:
        options.setdefault("in_channels", 3)  # cat(L, ab): every discriminator here judges 3-channel pairs
    check_discriminator_options(config.discriminator, options)
    return options


@dataclass
class InitialWeights:
    """What a new run starts from (`--init-from`): G's weights, and D's when the file is a training checkpoint."""

    path: Path
    generator_config: dict[str, Any]
    generator: dict[str, torch.Tensor]
    discriminator_kind: str | None = None
    discriminator_config: dict[str, Any] | None = None
    discriminator: dict[str, torch.Tensor] | None = None
    #: The training configuration of the run that wrote the checkpoint (None for a generator file).
    run_config: dict[str, Any] | None = None


def read_initial_weights(path: Path, arch: str, hints: bool = False) -> InitialWeights:
    """The weights in `path` (generator file or training checkpoint) for a new `arch` run (with colour hints or
    not); a clear error otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--init-from: no such file: {path}")
    if is_safetensors_file(path):
        saved_arch, config, state = read_generator_file(path)
        weights = InitialWeights(path, config, state)
    else:
        ckpt = read_checkpoint_file(path)
        saved_arch = ckpt["arch"]
        weights = InitialWeights(
            path, dict(ckpt["generator_config"]), ckpt.get("generator_ema") or ckpt["generator"],
            # checkpoints from before discriminators had kinds hold the PatchGAN
            discriminator_kind=ckpt.get("discriminator_kind", "patch"),
            discriminator_config=ckpt.get("discriminator_config"), discriminator=ckpt.get("discriminator"),
            run_config=ckpt.get("config"))
    if saved_arch != arch:
        raise ValueError(f"--init-from {path} holds a {saved_arch} generator, but this run trains {arch}; "
                         f"pass --generator {saved_arch}")
    if weights.generator_config.get("hints", False) and not hints:
        # A hint model trained on without hints would silently unlearn them; the other way round is fine.
        raise ValueError(f"--init-from {path} holds a generator that takes colour hints; pass --hints to train it")
    return weights


class Networks:
    """G and D as a run trains them: the bare modules, what the steps call (`G`, `D`: DDP-wrapped under torchrun),
    and G's moving average when the run keeps one."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, runtime: Runtime, *,
                 freezes_encoder: bool = False, ema: GeneratorEMA | None = None):
        self.generator, self.discriminator = generator, discriminator
        self.G, self.D = generator, runtime.data_parallel(discriminator)
        self.ema = ema
        self._runtime = runtime
        self._freezes_encoder = freezes_encoder
        self._encoder_frozen: bool | None = None

    @property
    def evaluated_generator(self) -> nn.Module:
        """The generator that is validated, drawn and exported: the moving average when kept, else G itself."""
        return self.ema.model if self.ema is not None else self.generator

    def set_encoder_frozen(self, frozen: bool) -> None:
        """(Un)freeze G's encoder; DDP is re-wrapped because it only syncs the parameters that train."""
        if frozen == self._encoder_frozen:
            return
        self._encoder_frozen = frozen
        if self._freezes_encoder:
            self.generator.freeze_encoder(frozen)
        if self._runtime.distributed:
            self.G = self._runtime.data_parallel(self.generator)

    def train_mode(self) -> None:
        self.generator.train()  # a frozen encoder keeps itself in eval mode (fixed BatchNorm statistics)
        self.discriminator.train()

    def after_generator_update(self) -> None:
        if self.ema is not None:
            self.ema.update(self.generator)


def check_network_options(config: TrainConfig) -> None:
    """Every network option of `config` is one its architectures take (raises ValueError before a run starts)."""
    generator_kwargs(config)
    discriminator_kwargs(config)


def build_networks(config: TrainConfig, runtime: Runtime, initial: InitialWeights | None = None) -> Networks:
    """G and D seeded by config.seed (identical on every rank), on the run's device and memory format."""
    seed_everything(config.seed)
    if initial is None:
        G = build_generator(config.generator, **generator_kwargs(config))
    else:
        # The file's own config, with any option given on the command line on top (e.g. another dropout).
        G = build_saved_generator(config.generator, {**initial.generator_config, **generator_kwargs(config)})
    if config.size % G.size_multiple:
        multiple = G.size_multiple
        raise ValueError(
            f"size {config.size} is not a multiple of {multiple}, which the {config.generator} generator needs "
            f"(try {max(multiple, config.size // multiple * multiple)})"
        )
    freezes_encoder = config.freeze_encoder_epochs > 0
    if freezes_encoder and not isinstance(G, FreezableEncoder):
        raise ValueError(f"--freeze-encoder-epochs: the {config.generator} generator has no encoder to freeze")
    D = build_discriminator(config.discriminator, **discriminator_kwargs(config))
    if initial is not None:
        _load_initial_weights(G, D, config, initial, announce=runtime.is_main)
    if runtime.distributed and config.sync_batchnorm:
        G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
        D = nn.SyncBatchNorm.convert_sync_batchnorm(D)
    G = G.to(runtime.device, memory_format=runtime.memory_format)
    D = D.to(runtime.device, memory_format=runtime.memory_format)
    ema = GeneratorEMA(G, config.ema_decay) if config.ema_decay is not None else None
    # Different dropout noise on each rank, the same on every rerun.
    torch.manual_seed(config.seed + 7919 * (runtime.rank + 1))
    return Networks(G, D, runtime, freezes_encoder=freezes_encoder, ema=ema)


def _load_initial_weights(G: nn.Module, D: nn.Module, config: TrainConfig, initial: InitialWeights,
                          announce: bool) -> None:
    state = strip_wrapper_prefixes(dict(initial.generator))
    try:
        if isinstance(G, HintFreeStart) and G.takes_hints and not initial.generator_config.get("hints", False):
            G.load_hint_free_state(state)  # the hint paths start at zero: step 0 computes what the file's G does
        elif predicts_classes(G) and not initial.generator_config.get("colour_classes", False):
            G.load_regression_state(state)  # encoder and decoder from the regression model, a fresh class head
        else:
            G.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"--init-from {initial.path}: its weights do not fit a {config.generator} generator with "
                         f"config {G.config}: {exc}") from exc
    note = "D starts fresh (the file holds no discriminator)"
    if initial.discriminator is not None:
        if initial.discriminator_kind != config.discriminator or initial.discriminator_config != D.config:
            note = (f"D starts fresh (the checkpoint's is {initial.discriminator_kind} "
                    f"{initial.discriminator_config}, this run's {config.discriminator} {D.config})")
        else:
            try:
                D.load_state_dict(strip_wrapper_prefixes(dict(initial.discriminator)), strict=True)
                note = "D from it too"
            except RuntimeError:
                note = "D starts fresh (the checkpoint's weights do not fit this run's discriminator)"
    if announce:
        print(f"init-from {initial.path}: G from it, {note}; epochs, optimisers and RNG start fresh",
              file=sys.stderr, flush=True)
