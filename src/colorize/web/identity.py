"""Which weights a model is: the SHA-256 that results, ratings and votes record next to the model's name.

Two checkpoints with one name but different weights must never share ratings, and one set of weights served under
a new name should keep its history; so the leaderboard groups by this hash, not by the name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def module_sha256(module) -> str:
    """The hash of a module's state: parameter and buffer names, shapes, dtypes and bytes, in order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        # Raw bytes through uint8, which numpy can hold whatever the dtype (bfloat16 included).
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def weights_sha256(colorizer) -> str:
    """The colorizer's `weights_sha256` if it states one, else the hash of its checkpoint file, else of its network's
    weights; a colorizer with none of these (a test double) is identified by its name."""
    stated = getattr(colorizer, "weights_sha256", None)
    if stated:
        return str(stated)
    checkpoint = getattr(colorizer, "checkpoint", None)
    if checkpoint is not None and Path(checkpoint).is_file():
        return file_sha256(checkpoint)
    for attribute in ("model", "network"):
        network = getattr(colorizer, attribute, None)
        if network is not None and hasattr(network, "state_dict"):
            return module_sha256(network)
    return "name:" + str(getattr(colorizer, "name", "model"))
