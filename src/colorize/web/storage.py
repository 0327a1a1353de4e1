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

from colorize import png

_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}-[a-z]+\.[a-z0-9]{2,5}$")

#: File suffix for each sniffed upload format; the browser-facing content type comes from the same table.
FORMAT_SUFFIX = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif", "GIF": "gif"}
SUFFIX_CONTENT_TYPE = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff",
    "gif": "image/gif",
}
PREVIEW_MAX_SIDE = 1280
#: Pillow's JPEG writer copies the comment (COM segment) of a decoded upload into whatever is saved from it unless
#: told otherwise; a comment is the person's text ("grandma's house, 12 Elm St"), never kept.
NO_COMMENT = b""


#: JPEG markers that carry no data segment.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7
#: Segments a decoder needs: frame headers (SOF0-15 less the three below), Huffman and arithmetic tables,
#: quantisation tables, restart interval, line count.
_DECODING = frozenset({*range(0xC0, 0xD0), 0xDB, 0xDD, 0xDC}) - {0xC8}
#: Where a scan's entropy-coded data ends: a marker other than a stuffed 0xFF00 or a restart marker.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def jpeg_without_metadata(data: bytes) -> bytes | None:
    """The same JPEG stream with every metadata segment left out, so it decodes to exactly the same pixels; None
    when the bytes are not a JPEG this can walk (the caller then re-encodes).

    Kept: what decoding needs (tables, frame and scan headers, the scans), the ICC profile (APP2 ICC_PROFILE:
    colour, as `save_original` keeps it), Adobe's APP14 and JFIF's APP0 (both tell decoders whether the channels
    are RGB or YCbCr; JFIF's without any thumbnail). Gone: EXIF and XMP (APP1: GPS, camera, maker notes,
    thumbnails), every other APPn (IPTC, MPF, FlashPix, vendors'), comments, and anything after the end of the
    image (a multi-picture file's other pictures, vendors' trailers)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out = [b"\xff\xd8"]
    pos, size, frames = 2, len(data), 0
    while pos < size:
        if data[pos] != 0xFF:
            return None
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= size:
            return None
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image: nothing after it is kept
            out.append(b"\xff\xd9")
            return b"".join(out) if frames == 1 else None
        if marker in _STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        if pos + 2 > size:
            return None
        end = pos + int.from_bytes(data[pos : pos + 2], "big")
        if end > size or end < pos + 2:
            return None
        payload = data[pos + 2 : end]
        if marker == 0xDA:  # start of scan: its header, then entropy-coded data up to the next marker
            found = _SCAN_END.search(data, end)
            if found is None:
                return None
            out.append(data[pos - 2 : found.start()])
            pos = found.start()
            continue
        if marker in _DECODING:
            frames += marker in range(0xC0, 0xD0) and marker not in (0xC4, 0xCC)
            keep = True
        elif marker == 0xE0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
            # Says "YCbCr" to decoders: kept, less any thumbnail (the JFIF header alone is 14 bytes).
            out.append(b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00")
            keep = False
        elif marker == 0xE2:
            keep = payload.startswith(b"ICC_PROFILE\x00")
        elif marker == 0xEE and payload.startswith(b"Adobe"):
            if len(payload) != 12:  # its colour transform flag matters to decoders: an odd one is not guessed at
                return None
            keep = True
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:  # other APPn, COM
            keep = False
        else:  # a marker not expected in a baseline or progressive JPEG (JPEG-LS, extensions): do not guess
            return None
        if keep:
            out.append(data[pos - 2 : end])
        pos = end
    return None  # no end-of-image marker: truncated


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
            image.save(buf, format="JPEG", quality=95, comment=NO_COMMENT, **extra)
            suffix = "jpg"
        else:
            image.save(buf, format="PNG", compress_level=1, **extra)
            suffix = "png"
        name = self.new_name("original", suffix)
        self.write_bytes(name, buf.getvalue())
        return name

    def save_original_jpeg(self, data: bytes) -> str:
        """A JPEG upload's own bytes as already stripped by `jpeg_without_metadata`: its exact pixels, no
        re-encoding (the caller checked that no EXIF rotation was applied)."""
        name = self.new_name("original", "jpg")
        self.write_bytes(name, data)
        return name

    def save_png(self, image: Image.Image, kind: str) -> str:
        """A lossless PNG of `image` with its ICC profile (colour), never its EXIF (the person: where, with what).

        RGB and RGBA go through `colorize.png` (ISA-L deflate): a 1 MP result took 50 ms with Pillow's fastest
        level and 7 ms there, and it was most of a web result's CPU time. Other modes: Pillow, level 1."""
        icc = image.info.get("icc_profile") or None
        if png.can_encode(image):
            data = png.encode_png(image, icc_profile=icc)
        else:
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=1, **({"icc_profile": icc} if icc else {}))
            data = buf.getvalue()
        name = self.new_name(kind, "png")
        self.write_bytes(name, data)
        return name

    def save_preview(self, image: Image.Image, kind: str) -> str:
        """A JPEG no larger than PREVIEW_MAX_SIDE for the page, so phones do not download 12-megapixel PNGs.
        A gray image stays one channel: the same decoded pixels as a three-channel JPEG of it (equal R, G and B
        give exactly that luma and neutral chroma), in less time and fewer bytes."""
        preview = image
        if max(image.size) > PREVIEW_MAX_SIDE:
            preview = image.copy()
            preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.BILINEAR, reducing_gap=2.0)
        if preview.mode == "RGBA":
            backdrop = Image.new("RGB", preview.size, (255, 255, 255))
            backdrop.paste(preview, mask=preview.getchannel("A"))
            preview = backdrop
        elif preview.mode not in ("RGB", "L"):
            preview = preview.convert("RGB")
        buf = io.BytesIO()
        preview.save(buf, format="JPEG", quality=85, comment=NO_COMMENT)
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
        image.save(buf, format="JPEG", quality=88, comment=NO_COMMENT)
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
