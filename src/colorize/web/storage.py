"""Image files on disk under one storage directory, with names the server generates.

A stored file's name is `<uuid hex>-<kind>.<ext>` inside a two-letter shard folder; nothing a client sends (its
file name, a path-like id) ever becomes part of a path, and every name is checked against that pattern before it
is turned into a path, so no request can read or write outside the directory.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import uuid
from pathlib import Path

from PIL import Image

_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}-[a-z]+\.[a-z0-9]{2,5}$")

#: File suffix for each sniffed upload format; the browser-facing content type comes from the same table.
FORMAT_SUFFIX = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif", "GIF": "gif"}
SUFFIX_CONTENT_TYPE = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff",
    "gif": "image/gif",
}
PREVIEW_MAX_SIDE = 1280


class Storage:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        (self.root / "images").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_name(kind: str, suffix: str) -> str:
        token = uuid.uuid4().hex
        name = f"{token[:2]}/{token}-{kind}.{suffix}"
        if not _NAME.match(name):
            raise ValueError(f"bad storage name {name!r}")
        return name

    def path(self, name: str) -> Path:
        """The file for a stored name; refuses anything that is not a name this class generated."""
        if not _NAME.match(name):
            raise ValueError(f"not a storage name: {name!r}")
        path = (self.root / "images" / name).resolve()
        if self.root not in path.parents:
            raise ValueError(f"not a storage name: {name!r}")
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write atomically (temporary file + rename), so a crash never leaves a half-written image behind."""
        path = self.path(name)
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def save_original(self, image: Image.Image, lossy: bool, icc_profile: bytes | None = None) -> str:
        """The upload as it should be kept: pixels only (orientation already applied), no EXIF, GPS or maker
        notes, which ride along in photo files and say where and with what a photo was taken. JPEG uploads stay
        JPEG (quality 95, close to the source); everything else becomes a lossless PNG. The ICC profile stays:
        it describes colour, not the person."""
        buf = io.BytesIO()
        extra = {"icc_profile": icc_profile} if icc_profile else {}
        if lossy and image.mode in ("RGB", "L"):
            image.save(buf, format="JPEG", quality=95, **extra)
            suffix = "jpg"
        else:
            image.save(buf, format="PNG", compress_level=1, **extra)
            suffix = "png"
        name = self.new_name("original", suffix)
        self.write_bytes(name, buf.getvalue())
        return name

    def save_png(self, image: Image.Image, kind: str) -> str:
        buf = io.BytesIO()
        # Level 1 is several times faster than the default 6 for ~10% larger files: encoding is on the request path.
        image.save(buf, format="PNG", compress_level=1)
        name = self.new_name(kind, "png")
        self.write_bytes(name, buf.getvalue())
        return name

    def save_preview(self, image: Image.Image, kind: str) -> str:
        """A JPEG no larger than PREVIEW_MAX_SIDE for the page, so phones do not download 12-megapixel PNGs."""
        preview = image.copy()
        preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.BILINEAR, reducing_gap=2.0)
        if preview.mode == "RGBA":
            backdrop = Image.new("RGB", preview.size, (255, 255, 255))
            backdrop.paste(preview, mask=preview.getchannel("A"))
            preview = backdrop
        elif preview.mode != "RGB":
            preview = preview.convert("RGB")
        buf = io.BytesIO()
        preview.save(buf, format="JPEG", quality=85)
        name = self.new_name(kind, "jpg")
        self.write_bytes(name, buf.getvalue())
        return name

    def save_pair_image(self, result_file: str) -> str:
        """One side of a blind pair, encoded afresh from the full-resolution result (a different resampling and
        quality from the labelled preview), so its bytes never match an image the API names a model for."""
        with Image.open(self.path(result_file)) as source:
            image = source.convert("RGB")
        image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.LANCZOS)
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=88)
        name = self.new_name("pair", "jpg")
        self.write_bytes(name, buf.getvalue())
        return name

    def files(self):
        """Every stored file as (name, path), temporary files of interrupted writes included (name None)."""
        images = self.root / "images"
        for path in images.rglob("*"):
            if path.is_file():
                name = path.relative_to(images).as_posix()
                yield (name if _NAME.match(name) else None), path

    def read_bytes(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete(self, *names: str) -> None:
        for name in names:
            try:
                self.path(name).unlink(missing_ok=True)
            except ValueError:
                pass

    @staticmethod
    def content_type(name: str) -> str:
        return SUFFIX_CONTENT_TYPE.get(name.rsplit(".", 1)[-1], "application/octet-stream")
