"""Engines: "auto" runs onnxruntime with the torch numbers, and falls back to torch where it must."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_photo
from infer_support import private_onnx_cache, tiny_generator  # noqa: F401

from colorize import onnx_cache
from colorize.engines import TorchEngine, build_engine
from colorize.infer import Colorizer


def test_auto_runs_onnxruntime_close_to_torch():
    model = tiny_generator()
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    auto = build_engine(model, "auto", "fp32")
    reference = build_engine(model, "torch", "fp32")
    assert auto.backend == "onnx" and isinstance(reference, TorchEngine)
    assert (auto(l_norm) - reference(l_norm)).abs().max().item() * 110 < 1e-3  # Lab units


def test_auto_uses_torch_for_bf16():
    engine = build_engine(tiny_generator(), "auto", "bf16")
    assert isinstance(engine, TorchEngine) and engine.precision == "bf16"


def test_auto_falls_back_to_torch_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter has no such operator")

    monkeypatch.setattr(onnx_cache, "cached_onnx_bytes", broken)
    with pytest.warns(RuntimeWarning, match="no such operator"):
        engine = build_engine(tiny_generator(), "auto", "fp32")
    assert isinstance(engine, TorchEngine)
    with pytest.raises(RuntimeError):  # asked for onnx explicitly: no silent substitute
        build_engine(tiny_generator(), "onnx", "fp32")


def test_default_colorizer_matches_the_torch_path():
    images = [make_photo(i, size) for i, size in enumerate([(48, 64), (60, 80), (40, 120)])]
    default = Colorizer(model=tiny_generator(), render_size=64)
    torch_path = Colorizer(model=tiny_generator(), render_size=64, backend="torch")
    assert default.backend == "auto"
    for a, b in zip(default.predict_ab(images), torch_path.predict_ab(images)):
        assert a.abs().mean() > 3.0  # real colour, so the comparison means something
        assert (a - b).abs().max().item() < 0.01
    assert default.backend == "onnx" and torch_path.backend == "torch"
    out_default = np.asarray(default.colorize(Image.fromarray(images[0]))).astype(int)
    out_torch = np.asarray(torch_path.colorize(Image.fromarray(images[0]))).astype(int)
    assert np.abs(out_default - out_torch).max() <= 1


def test_two_colorizers_exporting_at_once_both_get_onnxruntime():
    """torch's exporter is not thread-safe: web workers serving two models used to get one torch fallback."""
    import threading
    import warnings

    colorizers = [Colorizer(model=tiny_generator(seed=seed), render_size=64) for seed in (11, 12)]
    photo = make_photo(0, (40, 48))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warning in a thread would surface as an exception there
        threads = [threading.Thread(target=c.colorize, args=(photo,)) for c in colorizers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [c.backend for c in colorizers] == ["onnx", "onnx"]
