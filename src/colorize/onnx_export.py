"""ONNX: export a generator with dynamic batch and spatial axes, and run it with onnxruntime.

The exported graph is the bare network (normalised L in, normalised ab out; a model that takes colour hints has a
second input, the hint planes); the Lab maths around it stays in Python, so a `.onnx` file is a drop-in replacement
for the torch generator in `Colorizer(backend="onnx")`. The file carries the generator's registry name, config and
`size_multiple` as ONNX metadata.

Export uses torch's TorchScript-based exporter: the newer dynamo exporter needs the `onnxscript` package, which
is not a dependency of this project.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from colorize import __version__
from colorize.hints import HINT_CHANNELS
from colorize.models.protocols import reads_hints

INPUT_NAME = "l_norm"
#: the second input of a hint model's graph: the (B, 3, H, W) planes [a, b, mask] of colorize.hints
HINTS_INPUT_NAME = "hints"
OUTPUT_NAME = "ab_norm"
DEFAULT_OPSET = 17
METADATA_FORMAT = "colorize-generator-onnx"
_DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}
#: torch's exporter keeps global state: two exports at once in one process (two web models on their first
#: requests) made one of them fail.
_EXPORT_LOCK = threading.Lock()


def input_names(model: nn.Module) -> list[str]:
    """The graph inputs of `model`'s export: L, and the hint planes for a model that takes them."""
    return [INPUT_NAME, HINTS_INPUT_NAME] if reads_hints(model) else [INPUT_NAME]


def _sample_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    multiple = int(getattr(model, "size_multiple", 32))
    side = multiple * max(1, -(-64 // multiple))  # at least 64 px so every layer sees a non-trivial map
    l_norm = torch.zeros(1, 1, side, side)
    return (l_norm, torch.zeros(1, HINT_CHANNELS, side, side)) if reads_hints(model) else (l_norm,)


def _export(model: nn.Module, opset: int):
    """The TorchScript ONNX export of an eval-mode generator, as an onnx ModelProto."""
    import onnx

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter announces its deprecation and notes constant-folding limits; neither matters
        # for these convolutional graphs (the export is checked against torch in the tests).
        warnings.simplefilter("ignore")
        names = input_names(model)
        torch.onnx.export(
            model,
            _sample_inputs(model),
            buffer,
            dynamo=False,
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={**dict.fromkeys(names, _DYNAMIC_AXES), OUTPUT_NAME: _DYNAMIC_AXES},
            opset_version=opset,
            do_constant_folding=True,
        )
    return onnx.load_from_string(buffer.getvalue())


def export_onnx_bytes(model: nn.Module, opset: int = DEFAULT_OPSET) -> bytes:
    """The ONNX model (bytes) of a generator: input "l_norm" [B,1,H,W] (and "hints" [B,3,H,W] for a model that
    takes hints) -> output "ab_norm" [B,2,H,W]."""
    with _EXPORT_LOCK:
        was_training = model.training
        model.eval()
        try:
            proto = _export(model, opset)
        finally:
            model.train(was_training)  # the caller's module comes back in the mode it was given in
    metadata = {
        "format": METADATA_FORMAT,
        "arch": str(getattr(model, "arch", type(model).__name__)),
        "config": json.dumps(getattr(model, "config", {}), sort_keys=True),
        "size_multiple": str(int(getattr(model, "size_multiple", 32))),
        "colorize_version": __version__,
    }
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "colorize"
    return proto.SerializeToString()


def export_onnx(model: nn.Module, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write a generator as an ONNX file (dynamic batch, height and width). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_onnx_bytes(model, opset=opset))
    return path


class OnnxGenerator:
    """A generator run by onnxruntime; called like the torch module: l_norm [B,1,H,W] (+ hint planes [B,3,H,W]
    when the graph has a "hints" input, zeros when none are given) -> ab_norm [B,2,H,W].

    `source` is a `.onnx` path or the model's bytes. `threads`: onnxruntime intra-op threads (default: torch's
    thread count, so one setting governs both backends).
    """

    backend = "onnx"

    def __init__(self, source: str | Path | bytes, threads: int | None = None):
        import onnxruntime as ort

        if not isinstance(source, (bytes, bytearray)):
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"no such ONNX model: {path}")
            source = path.read_bytes()
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: on a busy machine spinning threads doubled the CPU time and
        # the latency (benchmarks/infer.py); on an idle one sleeping costs well under a millisecond per run.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(bytes(source), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise ValueError(f"not a usable ONNX model: {exc}") from exc
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs not in ([INPUT_NAME], [INPUT_NAME, HINTS_INPUT_NAME]):
            raise ValueError(f"not a colorize generator: the ONNX model's inputs are {inputs}, expected "
                             f"['{INPUT_NAME}'] or ['{INPUT_NAME}', '{HINTS_INPUT_NAME}']")
        self.takes_hints = HINTS_INPUT_NAME in inputs
        meta = self.session.get_modelmeta().custom_metadata_map
        self.arch = meta.get("arch", "onnx")
        self.config = json.loads(meta.get("config", "{}"))
        self.size_multiple = int(meta.get("size_multiple", 32))

    def __call__(self, l_norm: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        feed = {INPUT_NAME: _array(l_norm)}
        if self.takes_hints:
            b, _, h, w = l_norm.shape
            feed[HINTS_INPUT_NAME] = _array(hints) if hints is not None else np.zeros((b, HINT_CHANNELS, h, w),
                                                                                       np.float32)
        elif hints is not None:
            raise ValueError("this ONNX generator takes no colour hints (its graph has no 'hints' input)")
        (ab,) = self.session.run([OUTPUT_NAME], feed)
        return torch.from_numpy(ab)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())
