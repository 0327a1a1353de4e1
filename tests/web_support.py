"""Helpers shared by the web app's tests: tiny random models, encoded test images, a free port."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time

import numpy as np
import torch
from PIL import Image

from conftest import make_photo


def tiny_model(seed: int = 0):
    """An untrained 5-level pix2pix U-Net with 8 filters: fast, and good enough to exercise the app."""
    from colorize.models import build_generator

    torch.manual_seed(seed)
    return build_generator("pix2pix_unet", num_downs=5, num_filters=8)


def tiny_colorizer(name: str, seed: int = 0, model=None, **options):
    """A Colorizer on `tiny_model(seed)` (or `model`) at render size 64; `options` are InferenceOptions fields
    (e.g. hint_reach=0 for a model that takes no colour hints)."""
    from colorize.infer import Colorizer

    return Colorizer(model=model if model is not None else tiny_model(seed), name=name, render_size=64, **options)


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


def with_csrf(client, cookies=None):
    """Give a test client (TestClient or httpx.Client) a browser's CSRF header, as the page does, so its POSTs and
    DELETEs are accepted; `cookies` (another client's) make it that same browser, e.g. after a server restart."""
    if cookies is not None:
        client.cookies.update(cookies)
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    return client


#: Settings that turn the per-client rate limits off, for tests that upload, rate or vote many times.
NO_RATE_LIMITS = {"uploads_per_minute": 0, "ratings_per_minute": 0, "votes_per_minute": 0}


def make_client(tmp_path, colorizers, raise_server_exceptions: bool = True, **config):
    """A TestClient for an app storing under `tmp_path`/data that acts as one browser once entered (`with`):
    owner cookie plus CSRF header. Rate limits are off unless `config` sets them; uploads capped at 1 MB."""
    from colorize.web import ServeConfig, create_app

    config.setdefault("max_upload_mb", 1.0)
    config = {**NO_RATE_LIMITS, **config}
    app = create_app(ServeConfig(storage=str(tmp_path / "data"), **config), colorizers=colorizers)
    return _BrowserClient(app, raise_server_exceptions=raise_server_exceptions)


def second_browser(client):
    """Another browser on the same app as `client`: its own owner cookie and CSRF header."""
    other = _BrowserClient(client.app)
    return with_csrf(other)


def upload(client, seed=0):
    """POST a gray JPEG to the app behind `client`; returns the created result (asserts 201)."""
    response = client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(seed), "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()


def _browser_client_class():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient warns that it wants httpx2 one day
        from fastapi.testclient import TestClient

    class BrowserClient(TestClient):
        def __enter__(self):
            super().__enter__()
            return with_csrf(self)

    return BrowserClient


_BrowserClient = _browser_client_class()


@contextlib.contextmanager
def running_server(app):
    """Serve `app` with a real uvicorn on 127.0.0.1 in a thread (real sockets, real resets); yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
