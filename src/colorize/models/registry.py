"""Generator registry and the self-describing generator file format.

A generator file is a safetensors file whose metadata says what network the weights belong to:
{"format": "colorize-generator", "format_version": "1", "arch": <registry name>, "config": <json kwargs>,
"dtype": "float32" | "float16"}. `load_model` rebuilds the network from that alone, so no command needs
architecture flags to use a trained model. Training checkpoints (torch.save'd dicts with "arch",
"generator_config" and "generator") load the same way.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT_NAME = "colorize-generator"
FORMAT_VERSION = "1"

#: Config keys that fetch pretrained encoder weights. When a saved generator is rebuilt, its own weights replace
#: them anyway, so they are switched off: loading a model must never need (or look for) ImageNet weights.
_PRETRAINED_OVERRIDES = {"pretrained": False, "encoder_weights": None}

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_architecture(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make `build_generator(name, **config)` call `builder(**config)`."""
    if name in _BUILDERS:
        raise ValueError(f"architecture {name!r} is already registered")
    _BUILDERS[name] = builder


def list_architectures() -> list[str]:
    """Registered generator names, in registration order (pix2pix_unet first)."""
    return list(_BUILDERS)


def build_generator(arch: str, **config: Any) -> nn.Module:
    """A new generator of architecture `arch` built with `config` (the kwargs of its class)."""
    if arch not in _BUILDERS:
        raise ValueError(f"unknown generator architecture {arch!r}; known: {', '.join(list_architectures())}")
    try:
        return _BUILDERS[arch](**config)
    except TypeError as exc:  # a wrong keyword is a user error, not a crash
        raise ValueError(f"bad config for generator {arch!r}: {exc}") from exc


def _unwrap(model: nn.Module) -> nn.Module:
    # DistributedDataParallel keeps the network in .module, torch.compile in ._orig_mod.
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def _strip_wrapper_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in ("module.", "_orig_mod."):
        while state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def generator_state(model: nn.Module, fp16: bool = False) -> dict[str, torch.Tensor]:
    """The generator's state_dict on CPU as standalone contiguous tensors (floating ones in fp16 if asked)."""
    state = {}
    for name, tensor in _unwrap(model).state_dict().items():
        tensor = tensor.detach().to("cpu")
        if fp16 and tensor.is_floating_point():
            tensor = tensor.half()
        # clone: safetensors refuses tensors that share storage, and views of bigger buffers.
        state[name] = tensor.contiguous().clone()
    return state


def save_generator(model: nn.Module, path: str | Path, fp16: bool = False) -> Path:
    """Write `model` as a self-describing safetensors generator file; fp16 halves the size. Returns the path."""
    from safetensors.torch import save_file

    net = _unwrap(model)
    arch, config = getattr(net, "arch", None), getattr(net, "config", None)
    if arch not in _BUILDERS or not isinstance(config, dict):
        raise ValueError(
            f"{type(net).__name__} is not a registered colorize generator (needs .arch in "
            f"{list_architectures()} and a .config dict)"
        )
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "config": json.dumps(config, sort_keys=True),
        "dtype": "float16" if fp16 else "float32",
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(generator_state(net, fp16=fp16), str(path), metadata=metadata)
    return path


def _looks_like_safetensors(path: Path) -> bool:
    # safetensors = 8-byte little-endian header length, then a JSON header starting with "{".
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 0 < header_len <= path.stat().st_size - 8


def _read_safetensors(path: Path) -> tuple[str, dict, dict[str, torch.Tensor]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT_NAME:
            raise ValueError(
                f"{path} is a safetensors file but not a colorize generator (no '{FORMAT_NAME}' metadata); "
                "save generators with colorize.models.save_generator"
            )
        try:
            config = json.loads(metadata["config"])
            arch = metadata["arch"]
        except (KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: damaged colorize-generator metadata ({exc})") from exc
        state = {name: f.get_tensor(name) for name in f.keys()}
    return arch, config, state


def _read_training_checkpoint(path: Path) -> tuple[str, dict, dict[str, torch.Tensor]]:
    import pickle
    import zipfile

    not_ours = f"{path} is not a colorize generator: neither a generator safetensors file nor a training checkpoint"
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives
        raise ValueError(not_ours)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # A checkpoint written by `colorize train` may also hold objects (e.g. numpy RNG state) that the safe
        # loader refuses; such files come from the user's own runs, so the full unpickler is used for them.
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise ValueError(f"{not_ours} ({exc})") from exc
    except Exception as exc:  # a damaged archive fails in many ways; all mean the same to the user
        raise ValueError(f"{not_ours} ({exc})") from exc
    if not isinstance(ckpt, dict) or not {"arch", "generator", "generator_config"} <= ckpt.keys():
        raise ValueError(
            f"{path} is not a colorize generator: a training checkpoint needs the keys 'arch', "
            "'generator_config' and 'generator'"
        )
    return ckpt["arch"], dict(ckpt["generator_config"]), ckpt["generator"]


def read_generator_file(path: str | Path) -> tuple[str, dict, dict[str, torch.Tensor]]:
    """(arch, config, state_dict) from a generator safetensors file or a training checkpoint, without building."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    if _looks_like_safetensors(path):
        return _read_safetensors(path)
    return _read_training_checkpoint(path)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator saved at `path` (safetensors generator or training .pt), float32, eval mode."""
    arch, config, state = read_generator_file(path)
    if arch not in _BUILDERS:
        raise ValueError(f"{path}: unknown generator architecture {arch!r}; known: {list_architectures()}")
    config = {k: (_PRETRAINED_OVERRIDES[k] if k in _PRETRAINED_OVERRIDES else v) for k, v in config.items()}
    model = build_generator(arch, **config)
    try:
        model.load_state_dict(_strip_wrapper_prefixes(dict(state)), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit a {arch} generator with config {config}: {exc}") from exc
    return model.float().to(device).eval()


def _register_builtins() -> None:
    from colorize.models.unet import ARCH as UNET_ARCH, UNetGenerator

    register_architecture(UNET_ARCH, UNetGenerator)

    def encoder_builder(encoder: str) -> Callable[..., nn.Module]:
        def build(**config: Any) -> nn.Module:
            from colorize.models.encoder_unet import EncoderUNetGenerator

            if config.setdefault("encoder", encoder) != encoder:
                raise ValueError(f"arch {encoder!r} was given encoder={config['encoder']!r}")
            return EncoderUNetGenerator(**config)

        return build

    from colorize.models.backbones import ENCODER_NAMES

    for name in ENCODER_NAMES:
        register_architecture(name, encoder_builder(name))


_register_builtins()
