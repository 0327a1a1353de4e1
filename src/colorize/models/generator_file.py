"""The self-describing generator file, and loading generators from it or from training checkpoints.

A generator file is a safetensors file whose metadata says what network the weights belong to:
{"format": "colorize-generator", "format_version": "1", "arch": <registry name>, "config": <json kwargs>,
"dtype": "float32" | "float16"}. `load_model` rebuilds the network from that alone, so no command needs
architecture flags to use a trained model. Training checkpoints (torch.save'd dicts with "arch",
"generator_config" and "generator", plus "generator_ema" when the run kept an average) load the same way.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorize.models.protocols import Generator
from colorize.models.registry import build_generator, list_architectures
from colorize.models.wrappers import strip_wrapper_prefixes, unwrap_model

FORMAT_NAME = "colorize-generator"
FORMAT_VERSION = "1"

#: Config keys that fetch pretrained encoder weights. When a saved generator is rebuilt, its own weights replace
#: them anyway, so they are switched off: loading a model must never need (or look for) ImageNet weights.
_PRETRAINED_OVERRIDES = {"pretrained": False, "encoder_weights": None}


def generator_state(model: nn.Module, fp16: bool = False) -> dict[str, torch.Tensor]:
    """The generator's state_dict on CPU as standalone contiguous tensors (floating ones in fp16 if asked)."""
    state = {}
    for name, tensor in unwrap_model(model).state_dict().items():
        tensor = tensor.detach().to("cpu")
        if fp16 and tensor.is_floating_point():
            tensor = tensor.half()
        # clone: safetensors refuses tensors that share storage, and views of bigger buffers.
        state[name] = tensor.contiguous().clone()
    return state


def save_generator(model: nn.Module, path: str | Path, fp16: bool = False) -> Path:
    """Write `model` as a self-describing safetensors generator file; fp16 halves the size. Returns the path."""
    from safetensors.torch import save_file

    net = unwrap_model(model)
    if not isinstance(net, Generator) or net.arch not in list_architectures() or not isinstance(net.config, dict):
        raise ValueError(
            f"{type(net).__name__} is not a registered colorize generator (needs .arch in "
            f"{list_architectures()}, a .config dict and .size_multiple)"
        )
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "arch": net.arch,
        "config": json.dumps(net.config, sort_keys=True),
        "dtype": "float16" if fp16 else "float32",
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(generator_state(net, fp16=fp16), str(path), metadata=metadata)
    return path


def is_safetensors_file(path: Path) -> bool:
    """True when `path` has a safetensors header (else it may be a torch.save'd training checkpoint)."""
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


def read_checkpoint_file(path: Path) -> dict[str, Any]:
    """A torch.save'd dict (a training checkpoint), or a ValueError saying the file is not one."""
    import zipfile

    not_ours = f"{path} is not a colorize generator: neither a generator safetensors file nor a training checkpoint"
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives
        raise ValueError(not_ours)
    try:
        # The safe loader only: checkpoints `colorize train` writes hold tensors and plain values, and a pickle
        # that needs more (arbitrary objects) is not ours and is never unpickled.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged archive or foreign objects fail in many ways; all mean the same to the user
        raise ValueError(f"{not_ours} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    if not isinstance(ckpt, dict) or not {"arch", "generator", "generator_config"} <= ckpt.keys():
        raise ValueError(
            f"{path} is not a colorize generator: a training checkpoint needs the keys 'arch', "
            "'generator_config' and 'generator'"
        )
    return ckpt


def read_generator_file(path: str | Path) -> tuple[str, dict, dict[str, torch.Tensor]]:
    """(arch, config, state_dict) from a generator safetensors file or a training checkpoint, without building.

    From a checkpoint of a run that kept an exponential moving average of G, the averaged weights: they are what
    the run validated and exported.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    if is_safetensors_file(path):
        return _read_safetensors(path)
    ckpt = read_checkpoint_file(path)
    state = ckpt.get("generator_ema") or ckpt["generator"]
    return ckpt["arch"], dict(ckpt["generator_config"]), state


def build_saved_generator(arch: str, config: dict[str, Any]) -> nn.Module:
    """A generator with a saved config, built without looking for the ImageNet weights its saved weights replace."""
    return build_generator(arch, **{k: _PRETRAINED_OVERRIDES.get(k, v) for k, v in config.items()})


def load_model(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator saved at `path` (safetensors generator or training .pt), float32, eval mode."""
    arch, config, state = read_generator_file(path)
    if arch not in list_architectures():
        raise ValueError(f"{path}: unknown generator architecture {arch!r}; known: {list_architectures()}")
    model = build_saved_generator(arch, config)
    try:
        model.load_state_dict(strip_wrapper_prefixes(dict(state)), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit a {arch} generator with config {model.config}: {exc}") from exc
    return model.float().to(device).eval()
