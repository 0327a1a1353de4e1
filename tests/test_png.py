"""The fast PNG writer: decoders get back exactly the pixels given, with the ICC profile and EXIF."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import make_photo

from colorize import png
from colorize.folder import save_result


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # checks every chunk's CRC and the zlib stream
    return image


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_decoded_pixels_are_the_given_ones(mode):
    rng = np.random.default_rng(0)
    smooth = make_photo(1, (97, 131))
    noise = rng.integers(0, 256, smooth.shape, dtype=np.uint8)
    for pixels in (smooth, noise, np.zeros((1, 1, 3), np.uint8), np.full((5, 300, 3), 255, np.uint8)):
        if mode == "RGBA":
            pixels = np.dstack([pixels, rng.integers(0, 256, pixels.shape[:2], dtype=np.uint8)])
        image = Image.fromarray(pixels, mode)
        back = decoded(png.encode_png(image))
        assert back.mode == mode and back.size == image.size
        np.testing.assert_array_equal(np.asarray(back), pixels)


def test_long_streams_span_several_idat_chunks(monkeypatch):
    monkeypatch.setattr(png, "IDAT_BYTES", 1000)
    pixels = np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    data = png.encode_png(Image.fromarray(pixels))
    assert data.count(b"IDAT") > 10
    np.testing.assert_array_equal(np.asarray(decoded(data)), pixels)


def test_icc_profile_and_exif_are_written():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x013B] = "A. Photographer"
    image = Image.fromarray(make_photo(2, (30, 40)))
    for exif_bytes in (exif.tobytes(), b"Exif\x00\x00" + exif.tobytes()):  # with and without the JPEG prefix
        back = decoded(png.encode_png(image, icc_profile=srgb, exif=exif_bytes))
        assert back.info["icc_profile"] == srgb
        assert back.getexif().get(0x013B) == "A. Photographer"


def test_save_result_uses_it_for_rgb_and_pillow_for_other_modes(tmp_path):
    photo = make_photo(3, (40, 48))
    for image in (Image.fromarray(photo), Image.fromarray(photo[..., 0])):
        path = save_result(image, tmp_path / f"{image.mode}.png")
        back = Image.open(path)
        assert back.format == "PNG" and back.mode == image.mode
        np.testing.assert_array_equal(np.asarray(back), np.asarray(image))


def test_other_modes_are_refused():
    assert not png.can_encode(Image.new("L", (4, 4)))
    with pytest.raises(ValueError, match="RGB and RGBA"):
        png.encode_png(Image.new("P", (4, 4)))
