"""ONNX export and the onnxruntime backend: same numbers as torch, any batch and size, metadata carried along."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_photo
from infer_support import tiny_generator, private_onnx_cache  # noqa: F401

from colorize.images import load_image
from colorize.infer import Colorizer
from colorize.onnx_export import OnnxGenerator, export_onnx


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_generator()
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "tiny.onnx")
    return model, path


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (3, 1, 64, 96), (2, 1, 160, 32)])
def test_onnxruntime_matches_torch_for_any_batch_and_size(exported, shape):
    model, path = exported
    l_norm = torch.rand(shape) * 2 - 1
    with torch.inference_mode():
        expected = model(l_norm)
    got = OnnxGenerator(path)(l_norm)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() * 110 < 1e-3  # in Lab units


def test_onnx_backend_colorizer_agrees_with_torch(exported):
    model, path = exported
    sizes = [(48, 64), (60, 80), (40, 120)]
    images = [load_image(Image.fromarray(make_photo(i, size))) for i, size in enumerate(sizes)]
    torch_ab = Colorizer(model=model, render_size=64).predict_ab(images)
    for onnx_colorizer in (Colorizer(model=model, render_size=64, backend="onnx"),
                           Colorizer.from_checkpoint(path, render_size=64)):
        assert onnx_colorizer.backend == "onnx"
        onnx_ab = onnx_colorizer.predict_ab(images)
        for a, b in zip(torch_ab, onnx_ab):
            assert (a - b).abs().max().item() < 1e-3
    photo = make_photo(9, (48, 64))
    out_torch = np.asarray(Colorizer(model=model, render_size=64).colorize(photo)).astype(int)
    out_onnx = np.asarray(Colorizer.from_checkpoint(path, render_size=64).colorize(photo)).astype(int)
    assert np.abs(out_torch - out_onnx).max() <= 1


def test_metadata_describes_the_generator(exported):
    model, path = exported
    generator = OnnxGenerator(path)
    assert generator.arch == "pix2pix_unet"
    assert generator.config == model.config
    assert generator.size_multiple == model.size_multiple == 32
    colorizer = Colorizer.from_checkpoint(path)
    assert colorizer.name == "tiny" and colorizer.size_multiple == 32


def test_export_leaves_the_callers_module_in_its_mode(tmp_path):
    model = tiny_generator().train()
    export_onnx(model, tmp_path / "t.onnx")
    assert model.training  # exported in eval mode, handed back in training mode
    model.eval()
    export_onnx(model, tmp_path / "e.onnx")
    assert not model.training


def test_encoder_unet_exports_too(tmp_path):
    from colorize.models import build_generator

    torch.manual_seed(0)
    model = build_generator("efficientnet_lite0", pretrained=False).eval()
    path = export_onnx(model, tmp_path / "lite0.onnx")
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.inference_mode():
        expected = model(l_norm)
    got = OnnxGenerator(path)(l_norm)
    assert (got - expected).abs().max().item() * 110 < 1e-3


def test_bad_onnx_inputs_are_clear_errors(exported, tmp_path):
    _, path = exported
    with pytest.raises(FileNotFoundError):
        OnnxGenerator(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    with pytest.raises(ValueError, match="ONNX"):
        Colorizer.from_checkpoint(junk)
    with pytest.raises(ValueError, match="onnx"):
        Colorizer.from_checkpoint(path, backend="torch")
    with pytest.raises(ValueError, match="fp32"):
        Colorizer.from_checkpoint(path, precision="bf16")

