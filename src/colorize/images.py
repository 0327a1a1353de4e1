"""Reading user images safely: every format and mode we accept becomes 8-bit RGB (+ optional alpha).

One place decides what an acceptable image is, so the data loader, the CLI and the web app agree: formats are
sniffed from the bytes (never the file name), EXIF orientation is applied, the pixel count is checked from the
header before anything is decoded (decompression bombs), and every failure is an `ImageError` with a message
a person can act on.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorize.inference_options import InferenceOptions

#: Formats we decode, as Pillow names them. MPO is the multi-picture JPEG that many cameras write.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF"})
#: File suffixes a folder scan looks at; the content is still sniffed when the file is opened.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
#: Default pixel limit (a 40000x40000 bomb is refused): the one `InferenceOptions` sets.
DEFAULT_MAX_PIXELS = InferenceOptions.max_pixels

ImageSource = Union[str, Path, bytes, BinaryIO, Image.Image, np.ndarray, "LoadedImage"]


class ImageError(ValueError):
    """The input is not an image we can use; the message says why."""


#: Source modes (as `LoadedImage.mode` reports them) that carry no colour: one plane is enough.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


@dataclass
class LoadedImage:
    """An input image normalised to 8-bit RGB, with what is worth keeping from the original file."""

    rgb: Image.Image  # mode "RGB", orientation applied
    alpha: Image.Image | None  # mode "L" when the source had transparency
    format: str  # sniffed format, e.g. "JPEG"
    mode: str  # the source's Pillow mode, e.g. "I;16", "CMYK", "P"
    icc_profile: bytes | None
    exif: bytes | None
    n_frames: int = 1
    orientation: int = 1  # the EXIF orientation the pixels were turned by (1: none)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size

    def rgb_array(self) -> np.ndarray:
        return np.asarray(self.rgb, dtype=np.uint8)


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError("the file is empty (0 bytes)")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise ImageError(f"{path.name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except Image.DecompressionBombError as exc:
        # Pillow refuses before we see the size; only its own (higher) limit is known here.
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImageError(f"the image has more than {limit / 1e6:.0f} megapixels, too many to process safely") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not a recognised image (supported: JPEG, PNG, WebP, BMP, TIFF, GIF)") from exc
    except OSError as exc:
        raise ImageError(f"cannot read the image: {exc}") from exc


def _to_8bit(img: Image.Image) -> Image.Image:
    """High-bit-depth single-channel modes -> mode "L", scaled (Pillow's own convert would clip instead)."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) > 255):
        arr = arr.astype(np.float64) / 257.0
    elif img.mode == "F" and arr.max(initial=0) <= 1.0:
        arr = arr.astype(np.float64) * 255.0
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.dtype != np.uint8:
        raise ImageError(f"numpy images must be uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ImageError(f"numpy images must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    return Image.fromarray(np.ascontiguousarray(array))


def load_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Open, check and decode an image into 8-bit RGB (+ alpha), raising `ImageError` when it is unusable.

    Accepts a path, bytes, a binary file, a PIL image, a uint8 array ((H, W), (H, W, 3) or (H, W, 4)) or an
    already loaded image (returned as it is). Animated images give their first frame. Grayscale sources come back
    as RGB with equal channels.
    """
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, np.ndarray):
        source = _array_to_image(source)
    img = _open(source)
    # A file opened here is closed here: on errors, and when multi-frame (Pillow keeps those handles open).
    opened_here = not isinstance(source, Image.Image)
    try:
        loaded = _decode(img, check_format=opened_here, max_pixels=max_pixels)
    except BaseException:
        if opened_here:
            img.close()
        raise
    if opened_here and loaded.n_frames > 1:  # Pillow closes single-frame files itself once they are loaded
        if loaded.rgb is img:
            loaded.rgb = img.copy()
        img.close()
    return loaded


#: TIFF's first IFD holds the file's layout (strip offsets, sizes, compression) beside the camera's tags; only these
#: describe the photo and may travel into an output's EXIF.
_TIFF_EXIF_TAGS = (0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)  # Make, Model, Software, DateTime, Artist, ©


def _decode(img: Image.Image, *, check_format: bool, max_pixels: int) -> LoadedImage:
    fmt = img.format or "unknown"
    if check_format and fmt not in ALLOWED_FORMATS:
        raise ImageError(f"unsupported image format {fmt} (supported: JPEG, PNG, WebP, BMP, TIFF, GIF)")
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError("the image has no pixels")
    if width * height > max_pixels:
        raise ImageError(
            f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels; the limit is "
            f"{max_pixels / 1e6:.0f} megapixels"
        )
    n_frames = getattr(img, "n_frames", 1)
    icc = img.info.get("icc_profile")
    try:
        if n_frames > 1:
            img.seek(0)
        img.load()
        exif = img.getexif()
        if fmt == "TIFF":
            kept = Image.Exif()
            for tag in (*_TIFF_EXIF_TAGS, 0x0112):
                if tag in exif:
                    kept[tag] = exif[tag]
            exif = kept
        exif_bytes = exif.tobytes() if len(exif) else None
        orientation = exif.get(0x0112, 1)
        if orientation != 1:  # exif_transpose copies even when there is nothing to rotate
            img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"the image data is corrupt or truncated ({exc})") from exc
    mode = img.mode

    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        img = _to_8bit(img)
    elif mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode in ("LA", "La", "PA", "RGBa") or (mode in ("L", "RGB") and "transparency" in img.info):
        img = img.convert("RGBA")  # a tRNS key colour in an L or RGB PNG is transparency too
    if img.mode == "RGBA":
        alpha = img.getchannel("A")
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    if exif_bytes:
        # Orientation was applied to the pixels; the stored tag must not rotate the result a second time.
        exif.pop(0x0112, None)
        exif_bytes = exif.tobytes() if len(exif) else None
    return LoadedImage(rgb=rgb, alpha=alpha, format=fmt, mode=mode, icc_profile=icc, exif=exif_bytes,
                       n_frames=n_frames, orientation=orientation if isinstance(orientation, int) else 0)


def is_grayscale(rgb: np.ndarray, tolerance: float = 2.0) -> bool:
    """True when an (H, W, 3) uint8 image carries no colour: in 99 % of its pixels the channels differ by at most
    about `tolerance` (|R-G| + |G-B| <= 2 x tolerance), so a few stray coloured pixels (a logo, noise) do not count."""
    arr = rgb.astype(np.int16)
    spread = np.abs(arr[..., 0] - arr[..., 1]) + np.abs(arr[..., 1] - arr[..., 2])
    return float(np.percentile(spread, 99)) <= 2 * tolerance


def find_images(folder: str | Path) -> list[Path]:
    """Image files under `folder` (recursive, by suffix), sorted so every run sees the same order."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    found: list[Path] = []
    seen: set[str] = set()
    # Linked folders are followed (a training set is often a folder of links to others); each real folder once.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        found.extend(Path(dirpath, f) for f in filenames if Path(f).suffix.lower() in IMAGE_SUFFIXES)
    return sorted(p for p in found if p.is_file())
