"""Safe image loading: every accepted mode becomes 8-bit RGB, every bad input a clear ImageError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from colorize.images import ImageError, find_images, is_grayscale, load_image
from conftest import make_photo, png_bomb_bytes


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def photo() -> Image.Image:
    return Image.fromarray(make_photo(3, (40, 60)))


def test_rgb_jpeg_loads_with_its_size_and_format(photo):
    loaded = load_image(_encode(photo, "JPEG", quality=95))
    assert loaded.format == "JPEG" and loaded.mode == "RGB"
    assert loaded.size == (60, 40) and loaded.rgb.mode == "RGB" and loaded.alpha is None
    assert np.abs(loaded.rgb_array().astype(int) - np.asarray(photo).astype(int)).mean() < 6


def test_sixteen_bit_gray_png_is_scaled_not_clipped():
    ramp = (np.linspace(0, 65535, 64 * 16).reshape(16, 64)).astype(np.uint16)
    data = _encode(Image.fromarray(ramp), "PNG")
    loaded = load_image(data)
    arr = loaded.rgb_array()
    assert loaded.mode.startswith("I")
    assert arr.shape == (16, 64, 3) and arr[..., 0].max() == 255 and arr[..., 0].min() == 0
    # A mid-range 16-bit value must land mid-range in 8 bits (clipping would give 255).
    assert abs(int(arr[8, 32, 0]) - round(int(ramp[8, 32]) / 257)) <= 1
    assert is_grayscale(arr)


def test_cmyk_jpeg_becomes_rgb(photo):
    loaded = load_image(_encode(photo.convert("CMYK"), "JPEG", quality=95))
    assert loaded.mode == "CMYK" and loaded.rgb.mode == "RGB"
    assert np.abs(loaded.rgb_array().astype(int) - np.asarray(photo).astype(int)).mean() < 10


def test_rgba_png_keeps_alpha(photo):
    rgba = photo.convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 60, dtype=np.uint8), (40, 1))
    rgba.putalpha(Image.fromarray(alpha))
    loaded = load_image(_encode(rgba, "PNG"))
    assert loaded.alpha is not None and np.array_equal(np.asarray(loaded.alpha), alpha)
    assert np.array_equal(loaded.rgb_array(), np.asarray(photo))


def test_palette_png_with_and_without_transparency(photo):
    pal = photo.convert("P", palette=Image.ADAPTIVE, colors=16)
    assert load_image(_encode(pal, "PNG")).alpha is None
    pal.info["transparency"] = 0
    loaded = load_image(_encode(pal, "PNG", transparency=0))
    assert loaded.mode == "P" and loaded.alpha is not None and loaded.rgb.mode == "RGB"


def test_la_and_bilevel_images(photo):
    assert load_image(_encode(photo.convert("LA"), "PNG")).alpha is not None
    loaded = load_image(_encode(photo.convert("1"), "PNG"))
    assert set(np.unique(loaded.rgb_array())) <= {0, 255}


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    loaded = load_image(data)
    assert loaded.n_frames == 2
    r, g, b = loaded.rgb_array()[5, 5]
    assert r > 200 and b < 50


def test_exif_rotation_is_applied_and_removed_from_kept_exif(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "TestCam"
    loaded = load_image(_encode(photo, "JPEG", exif=exif.tobytes(), quality=95))
    assert loaded.size == (40, 60)  # width and height swapped
    kept = Image.Exif()
    kept.load(loaded.exif)
    assert 0x0112 not in kept and kept[0x010F] == "TestCam"
    assert loaded.orientation == 6  # the web app re-encodes such an original instead of keeping its bytes
    assert load_image(_encode(photo, "JPEG")).orientation == 1
    # The photo's left column is now its top row.
    top_row = loaded.rgb_array()[0].astype(int)
    left_column_reversed = np.asarray(photo)[::-1, 0].astype(int)
    assert np.abs(top_row - left_column_reversed).mean() < 12


def test_webp_bmp_tiff_load(photo):
    for fmt in ("WEBP", "BMP", "TIFF"):
        assert load_image(_encode(photo, fmt)).format == fmt


def test_transparent_key_colour_in_gray_and_rgb_pngs_is_alpha(photo):
    for img, key in ((photo.convert("L"), 0), (photo, (0, 0, 0))):
        pixels = img.load()
        pixels[0, 0] = key
        loaded = load_image(_encode(img, "PNG", transparency=key))
        alpha = np.asarray(loaded.alpha)
        assert alpha[0, 0] == 0 and alpha.max() == 255


def test_tiff_layout_tags_stay_out_of_the_kept_exif(photo):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[700] = b"<x:xmpmeta>" + b" " * 70_000 + b"</x:xmpmeta>"  # XMP: too big for a JPEG's EXIF segment
    loaded = load_image(_encode(photo, "TIFF", exif=exif))
    kept = Image.Exif()
    kept.load(loaded.exif)
    assert dict(kept) == {0x010F: "TestCam"}  # no strip offsets, sizes or XMP


def test_files_opened_from_a_path_are_closed(tmp_path, photo):
    import gc
    import warnings

    frames = [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_image(gif).n_frames == 2
        with pytest.raises(ImageError, match="megapixels"):
            load_image(gif, max_pixels=10)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is a text file pretending to be a jpeg\n" * 10, "not a recognised image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not a recognised image"),
    ],
)
def test_non_images_are_refused(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_jpeg_is_refused(photo):
    data = _encode(photo, "JPEG", quality=95)
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_from_the_header():
    data = png_bomb_bytes(40_000, 40_000)
    assert len(data) < 100_000
    with pytest.raises(ImageError, match="megapixels, too many to process safely"):
        load_image(data)
    with pytest.raises(ImageError, match="limit is 1 megapixels"):
        load_image(png_bomb_bytes(1200, 1000), max_pixels=1_000_000)


def test_unsupported_format_is_refused(photo):
    with pytest.raises(ImageError, match="unsupported image format"):
        load_image(_encode(photo, "PPM"))


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.jpg")


def test_find_images_is_recursive_sorted_and_by_suffix(tmp_path, photo):
    (tmp_path / "b").mkdir()
    for name in ("b/2.PNG", "a.jpg", "c.webp"):
        photo.save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a.jpg", "b/2.PNG", "c.webp"]
    with pytest.raises(FileNotFoundError):
        find_images(tmp_path / "nope")


def test_is_grayscale_tells_gray_from_colour(photo):
    assert not is_grayscale(np.asarray(photo))
    assert is_grayscale(np.asarray(photo.convert("L").convert("RGB")))


def test_find_images_follows_linked_folders_once(tmp_path, photo):
    (tmp_path / "real").mkdir()
    photo.save(tmp_path / "real" / "x.png")
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "set" / "linked" / "loop").symlink_to(tmp_path / "set", target_is_directory=True)
    assert [p.name for p in find_images(tmp_path / "set")] == ["x.png"]


def test_arrays_and_loaded_images_are_accepted_and_bad_arrays_refused(photo):
    arr = np.asarray(photo)
    loaded = load_image(arr)
    assert np.array_equal(loaded.rgb_array(), arr)
    assert load_image(loaded) is loaded
    assert load_image(arr[..., :1]).rgb_array().shape == (40, 60, 3)
    with pytest.raises(ImageError, match="uint8"):
        load_image(arr.astype(np.float32))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))
