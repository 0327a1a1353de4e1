"""The work a job does in a worker thread: check and decode an upload, colorize it, write the image files."""

from __future__ import annotations

import time
from dataclasses import dataclass

from colorize.images import LoadedImage, load_image
from colorize.web.storage import Storage


@dataclass
class StoredOriginal:
    file: str
    preview_file: str
    format: str
    mode: str
    width: int
    height: int
    num_bytes: int


@dataclass
class StoredResult:
    model: str
    file: str
    preview_file: str
    seconds: float


def _colorize_and_store(loaded: LoadedImage, colorizer, storage: Storage) -> StoredResult:
    start = time.perf_counter()
    coloured = colorizer.colorize(loaded)
    seconds = time.perf_counter() - start
    file = storage.save_png(coloured, "result")
    try:
        preview = storage.save_preview(coloured, "resultpreview")
    except BaseException:
        storage.delete(file)
        raise
    return StoredResult(model=colorizer.name, file=file, preview_file=preview, seconds=seconds)


def process_upload(data: bytes, colorizer, storage: Storage, max_pixels: int) -> tuple[StoredOriginal, StoredResult]:
    """Validate (ImageError for anything unusable), keep the original bytes, colorize, store the result."""
    loaded = load_image(data, max_pixels=max_pixels)
    original_file = storage.save_original(data, loaded.format)
    written = [original_file]
    try:
        display = loaded.rgb.copy()
        if loaded.alpha is not None:
            display.putalpha(loaded.alpha)
        preview = storage.save_preview(display, "preview")
        written.append(preview)
        result = _colorize_and_store(loaded, colorizer, storage)
    except BaseException:
        storage.delete(*written)
        raise
    width, height = loaded.size
    original = StoredOriginal(file=original_file, preview_file=preview, format=loaded.format, mode=loaded.mode,
                              width=width, height=height, num_bytes=len(data))
    return original, result


def process_stored(original_file: str, colorizer, storage: Storage, max_pixels: int) -> StoredResult:
    """Colorize an upload that is already stored (a second model for a blind comparison)."""
    loaded = load_image(storage.read_bytes(original_file), max_pixels=max_pixels)
    return _colorize_and_store(loaded, colorizer, storage)
