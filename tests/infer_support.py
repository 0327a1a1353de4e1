"""Helpers shared by the inference tests: a tiny colourful random generator, a chunked L measurement, and a
private ONNX cache folder (import `private_onnx_cache` into a test module to use it there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from colorize.lab import rgb_to_lab, uint8_to_tensor


def tiny_generator(seed: int = 0, gain: float = 30.0) -> nn.Module:
    """An untrained 5-level, 8-filter U-Net whose last layer is scaled up, so its ab is far from 0 (~12 Lab units
    on average, up to ~50): a plain random init predicts almost gray, which would make colour checks vacuous."""
    from colorize.models import build_generator

    torch.manual_seed(seed)
    model = build_generator("pix2pix_unet", num_downs=5, num_filters=8)
    last = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    with torch.no_grad():
        for p in last.parameters():
            p.mul_(gain)
    return model.eval()


def lab_of(rgb: np.ndarray, rows: int = 500) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 3) float32 Lab via kornia, in row blocks so 12 MP stays small in memory."""
    out = np.empty(rgb.shape, np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many mid-sized ops: on a busy shared machine one thread is several times faster
    try:
        for top in range(0, rgb.shape[0], rows):
            block = uint8_to_tensor(np.array(rgb[top : top + rows]))
            out[top : top + rows] = rgb_to_lab(block)[0].permute(1, 2, 0).numpy()
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(autouse=True, scope="module")
def private_onnx_cache(tmp_path_factory):
    """Graphs the "auto" backend exports go to a temporary folder, not the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLORIZE_CACHE_DIR", str(tmp_path_factory.mktemp("colorize-cache")))
        yield
