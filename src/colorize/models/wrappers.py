"""The network inside the wrappers training puts around it (DistributedDataParallel, torch.compile)."""

from __future__ import annotations

import torch
from torch import nn

_DATA_PARALLEL = (nn.parallel.DistributedDataParallel, nn.DataParallel)
#: the state_dict key prefixes the wrappers add: DDP / DataParallel keep the network in .module, torch.compile in
#: ._orig_mod
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare network inside any DDP / DataParallel / torch.compile wrappers (the model itself when bare)."""
    while True:
        if isinstance(model, _DATA_PARALLEL):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def strip_wrapper_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state_dict saved from a wrapped network with the wrappers' key prefixes removed."""
    for prefix in _WRAPPER_PREFIXES:
        while state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state
