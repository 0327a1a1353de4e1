"""Generate argparse options from a config dataclass, so every default lives in the dataclass alone.

A field becomes `--field-name`; its help text is `field(metadata={"help": ...})`, further spellings of the flag
`metadata={"aliases": ("--old-name",)}`. Supported field types: bool (--x / --no-x), int, float, str, Path,
Optional of those, Literal[...] (choices), tuple[T, ...] (nargs="+"), and another config dataclass, whose fields
become options of the same command (so a command embeds e.g. `InferenceOptions` with its defaults and help);
`metadata={"skip": ("name",)}` on such a field keeps those of its fields off the command line (at their defaults).
"""

from __future__ import annotations

import argparse
import os
import sys
import dataclasses
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin


def _unwrap_optional(tp: Any) -> Any:
    if get_origin(tp) is typing.Union or str(get_origin(tp)) == "<class 'types.UnionType'>":
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one option per field of `config_cls` (except `skip`) to `parser`."""
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        if f.name in skip or not f.init:
            continue
        tp = _unwrap_optional(hints[f.name])
        if dataclasses.is_dataclass(tp):
            add_config_arguments(parser, tp, skip=skip + tuple(f.metadata.get("skip", ())))
            continue
        default = _default(f)
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        kwargs: dict[str, Any] = {"dest": f.name, "default": default}
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif get_origin(tp) is Literal:
            kwargs["choices"] = list(get_args(tp))
            kwargs["type"] = type(get_args(tp)[0])
        elif get_origin(tp) is tuple:
            kwargs["nargs"] = "+"
            kwargs["type"] = get_args(tp)[0]
        elif tp in (int, float, str, Path):
            kwargs["type"] = tp
        else:
            raise TypeError(f"{config_cls.__name__}.{f.name}: unsupported option type {tp!r}")
        if help_text or default is not None:
            kwargs["help"] = f"{help_text} (default: %(default)s)" if help_text else "(default: %(default)s)"
        parser.add_argument(flag, *f.metadata.get("aliases", ()), **kwargs)


def config_from_args(config_cls: type, args: argparse.Namespace, **overrides: Any):
    """Build `config_cls` from parsed options; fields not on the command line keep their defaults."""
    return _config_from_args(config_cls, args, (), overrides)


def _config_from_args(config_cls: type, args: argparse.Namespace, skip: tuple[str, ...], overrides: dict):
    values = {}
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        nested = _unwrap_optional(hints[f.name])
        if not f.init or f.name in skip:
            continue
        if dataclasses.is_dataclass(nested) and f.name not in overrides:
            values[f.name] = _config_from_args(nested, args, tuple(f.metadata.get("skip", ())), {})
        elif hasattr(args, f.name):
            value = getattr(args, f.name)
            if isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    values.update(overrides)
    return config_cls(**values)


def add_config_command(subparsers, name: str, config_cls: type, run, *, help: str, description: str,
                       skip: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """One subcommand whose options come from `config_cls` and whose handler is `run(args) -> exit code`.

    Fields in `skip` are left for the caller to add by hand (positionals, repeatable options).
    """
    parser = subparsers.add_parser(name, help=help, description=description)
    add_config_arguments(parser, config_cls, skip=skip)
    parser.set_defaults(func=run)
    return parser


def prefer_passive_openmp() -> None:
    """Let torch's idle OpenMP threads sleep instead of spin, unless the user chose otherwise.

    On a busy machine spinning threads fight the other processes (and this process's own worker threads):
    a 256 px forward pass measured 3-5x slower with the default policy. libgomp reads the variable once, when
    torch is loaded, so this must run before the first `import torch`.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
