"""What the web app writes to disk for an upload: the original without metadata, previews, the result PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorize.images import load_image
from colorize.web.processing import process_upload
from colorize.web.storage import Storage, jpeg_without_metadata
from conftest import make_photo
from web_support import gray_jpeg, upload

GPS_IFD = 0x8825
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def tagged_jpeg(image: Image.Image, orientation: int = 1, **options) -> bytes:
    """A JPEG carrying everything a phone or an editor puts in one: EXIF with GPS and a maker note, XMP, IPTC, a
    comment, an ICC profile and a trailer after the end of the image."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0112], exif[0x927C] = "SpyCam", orientation, b"serial 12345"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0)})
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90, exif=exif.tobytes(), icc_profile=SRGB, comment=b"home address",
               **options)
    data = buf.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPSLatitude 48,51</x:xmpmeta>"
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0cbylinePhotog"
    extra = b"".join(b"\xff" + bytes([marker]) + (len(body) + 2).to_bytes(2, "big") + body
                     for marker, body in ((0xE1, xmp), (0xED, iptc)))
    return data[:2] + extra + data[2:] + b"SECRET-TRAILER"


SECRETS = (b"SpyCam", b"serial 12345", b"home address", b"GPSLatitude", b"bylinePhotog", b"SECRET-TRAILER", b"Exif")


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"restart_marker_blocks": 2}, {"subsampling": 0}])
def test_stripped_jpeg_has_the_same_pixels_and_no_metadata(mode, options):
    image = Image.fromarray(make_photo(1, (40, 56))).convert(mode)
    data = tagged_jpeg(image, **options)
    stripped = jpeg_without_metadata(data)
    assert stripped is not None
    np.testing.assert_array_equal(pixels(stripped), pixels(data))
    for secret in SECRETS:
        assert secret not in stripped, secret
    kept = Image.open(io.BytesIO(stripped))
    assert not kept.getexif() and "comment" not in kept.info
    assert kept.info["icc_profile"] == SRGB  # colour, not the person: kept as the re-encoded originals keep it


def test_a_jfif_thumbnail_goes_and_the_jfif_header_stays():
    data = gray_jpeg(8)
    assert data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00"
    thumbnail = bytes([2, 1]) + bytes(2 * 1 * 3)  # its size (2x1) and RGB pixels, after the 12 bytes before
    header = data[6:18]
    with_thumbnail = data[:2] + b"\xff\xe0" + (2 + len(header) + len(thumbnail)).to_bytes(2, "big") + header + thumbnail
    with_thumbnail += data[4 + int.from_bytes(data[4:6], "big"):]
    stripped = jpeg_without_metadata(with_thumbnail)
    assert stripped[2:20] == b"\xff\xe0\x00\x10" + header + b"\x00\x00"
    np.testing.assert_array_equal(pixels(stripped), pixels(data))


def test_an_odd_adobe_segment_is_not_guessed_at():
    data = gray_jpeg(9)
    odd = b"\xff\xee\x00\x10Adobe\x00\x64\x00\x00\x00\x00\x01\x00"  # 14 payload bytes, not 12
    assert jpeg_without_metadata(data[:2] + odd + data[2:]) is None


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe0\x00", b"GIF89a", gray_jpeg()[:-40],
                                  gray_jpeg()[:300]])
def test_anything_it_cannot_walk_is_none(data):
    assert jpeg_without_metadata(data) is None


def test_upload_of_an_upright_jpeg_keeps_its_exact_pixels_without_metadata(tmp_path, colorizers):
    from colorize.web.processing import ServedModel

    storage = Storage(tmp_path)
    data = tagged_jpeg(Image.fromarray(make_photo(2, (48, 64))).convert("L"))
    original, result = process_upload(data, ServedModel("tiny", "x", colorizers[0]), storage, 10**8)
    stored = storage.read_bytes(original.file)
    assert original.file.endswith(".jpg") and original.mode == "L"
    np.testing.assert_array_equal(pixels(stored), pixels(data))  # not re-encoded: the upload's own pixels
    for name in (original.file, original.preview_file, result.file, result.preview_file):
        for secret in SECRETS:
            assert secret not in storage.read_bytes(name), (name, secret)


def test_a_rotated_jpeg_is_re_encoded_upright(tmp_path, colorizers):
    from colorize.web.processing import ServedModel

    storage = Storage(tmp_path)
    data = tagged_jpeg(Image.fromarray(make_photo(3, (24, 40))).convert("L"), orientation=6)
    original, _ = process_upload(data, ServedModel("tiny", "x", colorizers[0]), storage, 10**8)
    stored = storage.read_bytes(original.file)
    assert Image.open(io.BytesIO(stored)).size == (24, 40)  # rotated into place
    assert not any(secret in stored for secret in SECRETS)


def test_result_png_is_lossless_with_the_icc_profile_and_without_exif(tmp_path):
    storage = Storage(tmp_path)
    for mode in ("RGB", "RGBA", "L"):
        image = Image.fromarray(make_photo(4, (30, 50))).convert(mode)
        image.info["icc_profile"] = SRGB
        image.info["exif"] = b"Exif\x00\x00" + Image.Exif().tobytes()
        data = storage.read_bytes(storage.save_png(image, "result"))
        back = Image.open(io.BytesIO(data))
        assert back.format == "PNG" and back.mode == mode
        np.testing.assert_array_equal(np.asarray(back), np.asarray(image))
        assert back.info.get("icc_profile") == SRGB
        assert b"eXIf" not in data and not back.getexif()


def test_gray_preview_is_one_channel_with_the_pixels_of_a_three_channel_one(tmp_path):
    storage = Storage(tmp_path)
    gray = load_image(gray_jpeg(5, (60, 80))).rgb.convert("L")
    preview = storage.read_bytes(storage.save_preview(gray, "preview"))
    rgb = io.BytesIO()
    gray.convert("RGB").save(rgb, format="JPEG", quality=85)
    assert Image.open(io.BytesIO(preview)).mode == "L"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(preview)).convert("RGB")), pixels(rgb.getvalue()))


def test_large_previews_are_shrunk_and_the_image_left_alone(tmp_path):
    storage = Storage(tmp_path)
    image = Image.fromarray(make_photo(6, (700, 1500)))
    before = np.asarray(image).copy()
    preview = Image.open(io.BytesIO(storage.read_bytes(storage.save_preview(image, "preview"))))
    assert max(preview.size) == 1280 and preview.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), before)


def test_served_original_is_the_uploaded_jpeg_pixels(client):
    data = gray_jpeg(7)
    result = upload(client)  # the helper's photo is gray_jpeg(0)
    served = client.get(result["urls"]["original"]).content
    np.testing.assert_array_equal(pixels(served), pixels(gray_jpeg(0)))
    assert pixels(data).shape == pixels(served).shape
