"""The work a job does in a worker thread: check and decode an upload, colorize it, write the image files."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from colorize.images import GRAY_MODES, LoadedImage, load_image
from colorize.web.storage import Storage, jpeg_without_metadata


@dataclass(frozen=True)
class ServedModel:
    """A loaded colorizer with the name the app shows and the hash of its weights (identity.py)."""

    name: str
    weights_sha256: str
    colorizer: object

    def colorize(self, image):
        return self.colorizer.colorize(image)


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
    model_hash: str = ""


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
    return StoredResult(model=colorizer.name, file=file, preview_file=preview, seconds=seconds,
                        model_hash=colorizer.weights_sha256)


def megapixels(source: bytes | Path) -> float:
    """The size of an image (bytes or a file) from its header alone, nothing decoded: a job's cost; 1 if unknown."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - the worker reports what is wrong with the file
        return 1.0
    return max(0.01, width * height / 1e6)


def _save_original(data: bytes, loaded: LoadedImage, display: Image.Image, storage: Storage) -> str:
    """The upload without its metadata. A JPEG that needed no rotation keeps its own compressed data, less every
    metadata segment (`jpeg_without_metadata`): the exact uploaded pixels, and no time spent re-encoding. Anything
    else is re-encoded from the decoded pixels (`Storage.save_original`)."""
    lossy = loaded.format in ("JPEG", "MPO")
    if lossy and loaded.orientation == 1 and loaded.mode == display.mode and display.mode in ("L", "RGB"):
        stripped = jpeg_without_metadata(data)
        if stripped is not None and _decodes_as(stripped, display):
            return storage.save_original_jpeg(stripped)
    return storage.save_original(display, lossy=lossy, icc_profile=loaded.icc_profile)


def _decodes_as(jpeg: bytes, image: Image.Image) -> bool:
    """Whether a JPEG's header says the size and mode of `image` (a cheap check of a stripped stream)."""
    try:
        with Image.open(io.BytesIO(jpeg)) as stored:
            return stored.format == "JPEG" and stored.size == image.size and stored.mode == image.mode
    except Exception:  # noqa: BLE001 - anything unreadable means: re-encode instead
        return False


def process_upload(data: bytes, colorizer, storage: Storage, max_pixels: int) -> tuple[StoredOriginal, StoredResult]:
    """Validate (ImageError for anything unusable), keep the original without its metadata, colorize, store the
    result."""
    loaded = load_image(data, max_pixels=max_pixels)
    if loaded.alpha is not None:
        display = loaded.rgb.copy()
        display.putalpha(loaded.alpha)
    elif loaded.mode in GRAY_MODES:  # kept as one gray channel: no colour to lose
        display = loaded.rgb.convert("L")
    else:
        display = loaded.rgb  # only read from here on (the savers copy before they change anything)
    original_file = _save_original(data, loaded, display, storage)
    written = [original_file]
    try:
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
