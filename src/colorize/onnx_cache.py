"""ONNX graphs exported from generators, kept in a user cache folder under a hash of the weights.

Exporting the bundled model takes about half a second, more than colorizing a photo; the cache makes that a
one-time cost per set of weights. The key covers everything the graph depends on (architecture, config, graph
inputs, every tensor, opset, colorize and torch versions), so a retrained or edited model never meets a stale graph. The folder
is `$COLORIZE_CACHE_DIR`, else `$XDG_CACHE_HOME/colorize`, else `~/.cache/colorize` (never the package folder,
which may be read-only); if it cannot be written the graph is simply exported again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from colorize import __version__
from colorize.onnx_export import DEFAULT_OPSET, export_onnx_bytes, input_names

CACHE_DIR_ENV = "COLORIZE_CACHE_DIR"
#: Graphs kept; the least recently used beyond this are deleted (the bundled model's graph is 15 MB).
KEEP_GRAPHS = 16


def cache_dir() -> Path:
    """Where exported graphs are kept (read from the environment at call time)."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorize" / "onnx"


def weights_key(model: nn.Module, opset: int = DEFAULT_OPSET) -> str:
    """A hex digest that changes whenever the exported graph could: weights, architecture, opset, versions."""
    digest = hashlib.sha256()
    # The graph's inputs are keyed on their own too: a hint model's graph has two, whatever its config says.
    header = {"arch": getattr(model, "arch", type(model).__name__), "config": getattr(model, "config", None),
              "inputs": input_names(model), "opset": opset, "colorize": __version__, "torch": torch.__version__}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:40]


def cached_onnx_bytes(model: nn.Module, opset: int = DEFAULT_OPSET) -> bytes:
    """The ONNX graph of `model` (as `export_onnx_bytes` makes it), from the cache or exported and cached now."""
    path = cache_dir() / f"{weights_key(model, opset)}.onnx"
    try:
        data = path.read_bytes()
        os.utime(path)  # recently used: pruning keeps it
        return data
    except OSError:
        pass
    data = export_onnx_bytes(model, opset=opset)
    _store(path, data)
    return data


def _store(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)  # readers see the whole graph or none
        _prune(path.parent)
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the folder could not be made: nothing to remove
            partial.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    graphs = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in graphs[KEEP_GRAPHS:]:
        old.unlink(missing_ok=True)
