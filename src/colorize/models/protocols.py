"""The contracts a network must meet to be trained, saved and loaded by colorize.

A generator maps model-space L (B, 1, H, W) in [-1, 1] to ab (B, 2, H, W) in [-1, 1] (see colorize.lab); a
discriminator scores the 3-channel pair cat(L, ab) with logits. Both are registered by name next to their class
(`register_generator` / `register_discriminator` in colorize.models.registry), which is how a run, a checkpoint or
a generator file names them.
"""

from __future__ import annotations

from typing import Any, Protocol, Union, runtime_checkable

import torch

#: One logit map, or one per scale for multi-scale discriminators.
Logits = Union[torch.Tensor, list[torch.Tensor]]


@runtime_checkable
class Generator(Protocol):
    """What every colorization generator is: `forward(l_norm) -> ab` plus what rebuilds it.

    A generator with `takes_hints` is called `G(l_norm, hints)`: `hints` are user colour hints as the (B, 3, H, W)
    planes [a, b, mask] of `colorize.hints` (None means no hint); one without is called `G(l_norm)` only.
    """

    #: the registry name it was built under (a generator file stores it)
    arch: str
    #: the keyword arguments that rebuild it with `build_generator(arch, **config)`; JSON-serialisable
    config: dict[str, Any]
    #: H and W of the input must be multiples of this
    size_multiple: int
    #: whether forward also takes colour hint planes (see above)
    takes_hints: bool

    def __call__(self, l_norm: torch.Tensor) -> torch.Tensor: ...


def reads_hints(module: object) -> bool:
    """Whether `module` is a generator that takes colour hints; other modules (e.g. a baseline's constant colour,
    which is not a registered generator) take none."""
    return isinstance(module, Generator) and module.takes_hints


@runtime_checkable
class FreezableEncoder(Protocol):
    """A generator with a pretrained encoder that training may hold fixed (weights and BatchNorm statistics)."""

    def freeze_encoder(self, frozen: bool = True) -> None: ...


@runtime_checkable
class HintFreeStart(Protocol):
    """A generator that takes hints and can start from the weights of its hint-free twin (`--init-from`): those
    load, and the hint paths keep an initialisation under which the output is the twin's."""

    def load_hint_free_state(self, state: dict[str, torch.Tensor]) -> None: ...


@runtime_checkable
class ColourClassGenerator(Protocol):
    """A generator that predicts ab as classes over quantised bins (`colorize.colour_classes`): besides its ab it
    gives the bin logits the training loss needs, and it can start from a regression twin's weights."""

    colour_classes: bool

    def forward_classes(self, l_norm: torch.Tensor,
                        hints: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def load_regression_state(self, state: dict[str, torch.Tensor]) -> None: ...


def predicts_classes(module: Any) -> bool:
    return isinstance(module, ColourClassGenerator) and module.colour_classes


@runtime_checkable
class Discriminator(Protocol):
    """Scores cat(L_norm, ab) (B, 3, H, W): raw logits, a Tensor or a list of Tensors (multi-scale).

    Parameters with requires_grad=False at build time (e.g. frozen pretrained features) are never optimised; such a
    discriminator keeps its frozen part in eval mode itself (override `train`).
    """

    #: the keyword arguments that rebuild it with `build_discriminator(name, **config)`
    config: dict[str, Any]

    def __call__(self, pair: torch.Tensor) -> Logits: ...
