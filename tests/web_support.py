"""Helpers shared by the web app's tests: tiny random models, encoded test images, a free port."""

from __future__ import annotations

import io
import socket

import numpy as np
import torch
from PIL import Image

from conftest import make_photo


def tiny_model(seed: int = 0):
    """An untrained 5-level pix2pix U-Net with 8 filters: fast, and good enough to exercise the app."""
    from colorize.models import build_generator

    torch.manual_seed(seed)
    return build_generator("pix2pix_unet", num_downs=5, num_filters=8)


def tiny_colorizer(name: str, seed: int = 0, model=None):
    from colorize.infer import Colorizer

    return Colorizer(model=model if model is not None else tiny_model(seed), name=name, render_size=64)


def encode(array: np.ndarray, fmt: str = "JPEG", **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def gray_jpeg(seed: int = 0, size: tuple[int, int] = (48, 64)) -> bytes:
    """An old-photo stand-in: a synthetic colour photo turned gray, as JPEG bytes."""
    gray = Image.fromarray(make_photo(seed, size)).convert("L")
    buf = io.BytesIO()
    gray.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def upload(client, seed=0):
    """POST a gray JPEG to the app behind `client`; returns the created result (asserts 201)."""
    response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(seed), "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
