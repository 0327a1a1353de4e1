"""What runs the generator: torch (fp32 or bfloat16 autocast) or onnxruntime, and the "auto" choice between them.

An engine is called like the generator: normalised L (B, 1, H, W), and for a model that `takes_hints` optionally
the hint planes (B, 3, H, W) -> normalised ab (B, 2, H, W), and says which backend it is. "auto" runs onnxruntime on a graph exported from the torch model (`colorize.onnx_cache`): on this
project's 2-core CPU a 256 px forward pass takes a fraction of torch's time (benchmarks/infer.py). It falls back to
torch for bf16, which onnxruntime does not run here, and, with a warning, when the export or onnxruntime fails.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from colorize.onnx_export import OnnxGenerator


class TorchEngine:
    """A torch generator in eval mode, channels_last, optionally under bfloat16 autocast."""

    backend = "torch"

    def __init__(self, model: nn.Module, precision: str = "fp32"):
        # channels_last lets oneDNN pick its fast convolution layouts: a 256x192 efficientnet_lite0 forward
        # went from 61 to 38 ms of CPU (fp32, one thread). Like eval(), this changes the module in place.
        self.model = model.eval().to(memory_format=torch.channels_last)
        self.precision = precision

    def __call__(self, l_norm: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        inputs = [l_norm] if hints is None else [l_norm, hints]
        inputs = [x.contiguous(memory_format=torch.channels_last) for x in inputs]
        with torch.inference_mode():
            if self.precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return self.model(*inputs).float()
            return self.model(*inputs)


def build_engine(model: nn.Module, backend: str, precision: str, num_threads: int = 0):
    """The engine for a torch generator under the options' backend ("auto", "torch", "onnx") and precision."""
    if backend == "torch" or precision != "fp32":
        return TorchEngine(model, precision)
    from colorize.onnx_cache import cached_onnx_bytes

    if backend == "onnx":
        return OnnxGenerator(cached_onnx_bytes(model), threads=num_threads or None)
    try:
        return OnnxGenerator(cached_onnx_bytes(model), threads=num_threads or None)
    except Exception as exc:  # onnxruntime missing, an operator the exporter lacks, a session that will not build
        warnings.warn(f"backend auto: onnxruntime cannot run this model ({type(exc).__name__}: {exc}); "
                      "running it with torch", RuntimeWarning, stacklevel=2)
        return TorchEngine(model, precision)
