"""Shared test fixtures: small images made here (seeded) and real photos that ship with scikit-image."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
REPO = Path(__file__).resolve().parents[1]


def load_script(path: str | Path, name: str):
    """A script of the repository (`scripts/`, `benchmarks/`; `path` relative to the root) imported as module `name`,
    so a test can call its functions."""
    spec = importlib.util.spec_from_file_location(name, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_photo(seed: int, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A colourful synthetic (H, W, 3) uint8 image: smooth gradients plus a few flat-coloured boxes."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.28)
        img[..., c] = 127.5 + 110 * np.sin(fx * xx / w * 6.28 + phase) * np.cos(fy * yy / h * 6.28)
    for _ in range(3):
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[y0 : y0 + h // 4, x0 : x0 + w // 4] = rng.integers(0, 256, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def skimage_photo(name: str, size: int | None = None) -> np.ndarray:
    """A real colour photo from scikit-image's bundled data, optionally resized so its short side is `size`."""
    import skimage.data

    arr = getattr(skimage.data, name)()[..., :3]
    if size is not None:
        img = Image.fromarray(arr)
        scale = size / min(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BICUBIC)
        arr = np.asarray(img)
    return arr


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # Test tensors are tiny: a second thread gains nothing, and when other processes share the 2 cores the OpenMP
    # barriers between threads made tests up to 10x slower (measured). Subprocesses get OMP_NUM_THREADS=1.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder tree of 12 small colour photos: 8 synthetic PNGs and 4 real JPEGs in a subfolder."""
    root = tmp_path / "photos"
    (root / "real").mkdir(parents=True)
    for i in range(8):
        Image.fromarray(make_photo(i, (72, 80))).save(root / f"synthetic_{i}.png")
    for name in SKIMAGE_PHOTOS:
        Image.fromarray(skimage_photo(name, 80)).save(root / "real" / f"{name}.jpg", quality=92)
    return root


def png_bomb_bytes(width: int = 40_000, height: int = 40_000) -> bytes:
    """A tiny PNG file whose header claims `width` x `height` pixels (a decompression bomb's calling card)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    rows = zlib.compress(b"\x00" * (width + 1) * 16)  # the first rows only; enough to look plausible
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True, scope="session")
def _private_onnx_cache(tmp_path_factory):
    """Graphs the auto backend exports go to a folder of this test session, never the user's cache."""
    import os

    previous = os.environ.get("COLORIZE_CACHE_DIR")
    os.environ["COLORIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("colorize-cache"))
    yield
    if previous is None:
        os.environ.pop("COLORIZE_CACHE_DIR", None)
    else:
        os.environ["COLORIZE_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def colorizers():
    """Two tiny seeded colorizers for the web tests (a model per side of an arena pair)."""
    from web_support import tiny_colorizer

    return [tiny_colorizer("tiny-a", seed=1), tiny_colorizer("tiny-b", seed=2)]


@pytest.fixture
def client(tmp_path, colorizers):
    """A web app test client on a fresh storage folder and SQLite database, serving `colorizers`."""
    from web_support import make_client

    with make_client(tmp_path, colorizers) as c:
        yield c
