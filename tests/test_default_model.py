"""The bundled default model: small, self-describing, loaded with no arguments, and it really adds colour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open

from colorize import infer
from colorize.lab import rgb_to_lab, uint8_to_tensor
from colorize.metrics import colorfulness
from conftest import SKIMAGE_PHOTOS, skimage_photo

pytestmark = pytest.mark.skipif(not infer.DEFAULT_CHECKPOINT.is_file(), reason="no bundled default model yet")


def test_bundled_file_is_small_fp16_and_names_its_architecture():
    path = infer.DEFAULT_CHECKPOINT
    assert path.stat().st_size < 25 * 2**20
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert meta["format"] == "colorize-generator" and meta["arch"] == "efficientnet_lite0"
    assert "F16" in dtypes and "F32" not in dtypes


@pytest.fixture(scope="module")
def colorizer():
    return infer.Colorizer()


@pytest.mark.parametrize("name", SKIMAGE_PHOTOS)
def test_default_model_colours_real_photos_and_keeps_their_lightness(colorizer, name):
    real = skimage_photo(name, 256)
    gray = np.asarray(Image.fromarray(real).convert("L").convert("RGB"))
    assert colorfulness(gray) == 0.0
    result = np.asarray(colorizer.colorize(Image.fromarray(gray)))
    assert result.shape == gray.shape
    # Well above the gray baseline's 0: the bundled model scores 19-51 on these photos (the originals 37-77).
    assert colorfulness(result) > 10.0
    l_in = rgb_to_lab(uint8_to_tensor(gray))[0, 0]
    l_out = rgb_to_lab(uint8_to_tensor(result))[0, 0]
    assert (l_in - l_out).abs().mean() < 1.0


def test_default_model_is_what_the_cli_and_colorize_image_use(tmp_path):
    from colorize.cli import main

    src = tmp_path / "cat.png"
    Image.fromarray(skimage_photo("chelsea", 128)).convert("L").save(src)
    assert main(["image", str(src), "-o", str(tmp_path / "out.png")]) == 0
    cli_result = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    api_result = np.asarray(infer.colorize_image(src).convert("RGB"))
    assert colorfulness(cli_result) > 10.0
    assert np.abs(cli_result.astype(int) - api_result.astype(int)).max() <= 1
