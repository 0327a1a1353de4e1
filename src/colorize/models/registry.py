"""Registries of generator architectures and discriminator kinds, filled where each class is defined.

    @register_generator("pix2pix_unet")
    class UNetGenerator(nn.Module): ...

makes `build_generator("pix2pix_unet", **options)` build it. A name may fix some options of its class (each encoder
U-Net name fixes `encoder`); the other keyword arguments of the class are the options that name accepts, and any
other option is a clear error naming the accepted ones. Discriminators follow the same pattern.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from colorize.models.protocols import Discriminator, Generator


class Registry:
    """Names -> builders of one kind of network (generators or discriminators)."""

    def __init__(self, kind: str, contract: type, name_word: str):
        self.kind = kind  # "generator" / "discriminator", for messages
        self.contract = contract
        self.name_word = name_word  # what a name is called in messages ("architecture", "kind")
        self._builders: dict[str, Callable[..., nn.Module]] = {}
        self._fixed: dict[str, dict[str, Any]] = {}

    def register(self, name: str, builder: Callable[..., nn.Module], **fixed: Any) -> None:
        if name in self._builders:
            raise ValueError(f"{self.kind} {self.name_word} {name!r} is already registered")
        self._builders[name] = builder
        self._fixed[name] = fixed

    def decorator(self, name: str, **fixed: Any) -> Callable[[type], type]:
        def register_class(cls: type) -> type:
            self.register(name, cls, **fixed)
            return cls

        return register_class

    def names(self) -> list[str]:
        return list(self._builders)

    def _check_name(self, name: str) -> None:
        if name not in self._builders:
            raise ValueError(f"unknown {self.kind} {self.name_word} {name!r}; known: {', '.join(self.names())}")

    def options(self, name: str) -> tuple[str, ...] | None:
        """The keyword options `name` accepts (its fixed ones excluded); None when its builder takes **kwargs."""
        self._check_name(name)
        params = inspect.signature(self._builders[name]).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                     and p.name not in self._fixed[name])

    def check_options(self, name: str, options: dict[str, Any]) -> None:
        """A clear ValueError for options `name` does not take, or that contradict what the name fixes."""
        accepted = self.options(name)
        for key, value in options.items():
            if key in self._fixed[name]:
                if value != self._fixed[name][key]:
                    raise ValueError(f"the {self.kind} {name!r} has {key}={self._fixed[name][key]!r} by its name, "
                                     f"got {key}={value!r}")
            elif accepted is not None and key not in accepted:
                raise ValueError(f"bad config for {self.kind} {name!r}: it takes no option {key!r}; it accepts: "
                                 f"{', '.join(accepted) or 'none'}")

    def build(self, name: str, **options: Any) -> nn.Module:
        self.check_options(name, options)
        try:
            module = self._builders[name](**{**self._fixed[name], **options})
        except TypeError as exc:  # a builder taking **kwargs rejected one: a user error, not a crash
            raise ValueError(f"bad config for {self.kind} {name!r}: {exc}") from exc
        if not isinstance(module, self.contract):
            raise TypeError(f"{self.kind} {name!r} built a {type(module).__name__}, which lacks the "
                            f"{self.contract.__name__} contract (colorize.models.protocols)")
        return module


_GENERATORS = Registry("generator", Generator, "architecture")
_DISCRIMINATORS = Registry("discriminator", Discriminator, "kind")


def register_generator(name: str, **fixed: Any) -> Callable[[type], type]:
    """Class decorator: `build_generator(name, **options)` builds the class with `fixed` options preset."""
    return _GENERATORS.decorator(name, **fixed)


def register_architecture(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make `build_generator(name, **config)` call `builder(**config)` (for builders that are not classes)."""
    _GENERATORS.register(name, builder)


def list_architectures() -> list[str]:
    """Registered generator names, in registration order (pix2pix_unet first)."""
    return _GENERATORS.names()


def generator_options(arch: str) -> tuple[str, ...] | None:
    """The options `build_generator(arch, ...)` accepts (None: its builder takes any keyword)."""
    return _GENERATORS.options(arch)


def check_generator_options(arch: str, options: dict[str, Any]) -> None:
    _GENERATORS.check_options(arch, options)


def build_generator(arch: str, **config: Any) -> nn.Module:
    """A new generator of architecture `arch` built with `config` (the options of its class)."""
    return _GENERATORS.build(arch, **config)


def register_discriminator(name: str, **fixed: Any) -> Callable[[type], type]:
    """Class decorator: `build_discriminator(name, **options)` builds the class with `fixed` options preset."""
    return _DISCRIMINATORS.decorator(name, **fixed)


def list_discriminators() -> list[str]:
    """Registered discriminator kinds, in registration order ("patch" first)."""
    return _DISCRIMINATORS.names()


def discriminator_options(name: str) -> tuple[str, ...] | None:
    return _DISCRIMINATORS.options(name)


def check_discriminator_options(name: str, options: dict[str, Any]) -> None:
    _DISCRIMINATORS.check_options(name, options)


def build_discriminator(name: str, **options: Any) -> nn.Module:
    """A new discriminator of kind `name` built with `options`."""
    return _DISCRIMINATORS.build(name, **options)
