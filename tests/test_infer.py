"""The Colorizer API: full-resolution output with the input's own L, every input kind, batching, options."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from conftest import make_photo
from infer_support import lab_of, tiny_generator, private_onnx_cache  # noqa: F401

from colorize import infer
from colorize.folder import save_result
from colorize.images import load_image
from colorize.infer import Colorizer, colorize_image, rgb_icc_profile
from colorize.models import save_generator


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer(model=tiny_generator(), render_size=64)


def big_photo(width: int = 4000, height: int = 3000) -> np.ndarray:
    """A 12 MP colour photo with fine detail (noise) on top of smooth structure."""
    base = Image.fromarray(make_photo(3, (150, 200))).resize((width, height), Image.BICUBIC)
    return np.asarray(base) ^ np.random.default_rng(0).integers(0, 16, (height, width, 1), dtype=np.uint8)


def chroma(rgb: np.ndarray) -> np.ndarray:
    return np.hypot(*np.moveaxis(lab_of(rgb)[..., 1:], -1, 0))


def test_12mp_photo_keeps_its_size_and_its_own_lightness(colorizer):
    photo = big_photo()
    out = colorizer.colorize(photo)
    assert out.size == (4000, 3000) and out.mode == "RGB"
    result = np.asarray(out)
    l_in, l_out = lab_of(photo)[..., 0], lab_of(result)[..., 0]
    assert np.abs(l_out - l_in).max() < 1.0
    # The L test only means something if colour was really added.
    assert chroma(result[::10, ::10]).mean() > 3.0


def test_12mp_gray_png_file(colorizer, tmp_path):
    gray = big_photo()[..., 1]
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path, compress_level=1)
    out = np.asarray(colorizer.colorize(path))
    assert out.shape == (3000, 4000, 3)
    l_in = lab_of(np.repeat(gray[:600, :, None], 3, axis=2))[..., 0]
    assert np.abs(lab_of(out[:600])[..., 0] - l_in).max() < 1.0
    assert chroma(out[::10, ::10]).mean() > 3.0


def test_saturated_predictions_still_keep_lightness():
    """Out-of-gamut colours are desaturated at constant luminance instead of clipped per channel."""
    loud = Colorizer(model=tiny_generator(), render_size=64, saturation=4.0)
    photo = make_photo(5, (96, 128))
    out = np.asarray(loud.colorize(photo))
    assert np.abs(lab_of(out)[..., 0] - lab_of(photo)[..., 0]).max() < 1.0
    assert chroma(out).mean() > chroma(np.asarray(Colorizer(model=tiny_generator(), render_size=64)
                                                  .colorize(photo))).mean()


def test_16_bit_png(colorizer, tmp_path):
    ramp = (np.linspace(0, 65535, 80 * 60).reshape(60, 80)).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    out = colorizer.colorize(path)
    assert out.size == (80, 60) and out.mode == "RGB"
    expected_gray = np.rint(ramp / 257.0).astype(np.uint8)
    l_in = lab_of(np.repeat(expected_gray[..., None], 3, axis=2))[..., 0]
    assert np.abs(lab_of(np.asarray(out))[..., 0] - l_in).max() < 1.0


def test_cmyk_jpeg(colorizer, tmp_path):
    path = tmp_path / "print.jpg"
    Image.fromarray(make_photo(1, (60, 80))).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    out = colorizer.colorize(path)
    assert out.size == (80, 60) and out.mode == "RGB"
    l_in = lab_of(np.asarray(load_image(path).rgb))[..., 0]
    assert np.abs(lab_of(np.asarray(out))[..., 0] - l_in).max() < 1.0


def test_rgba_png_keeps_alpha(colorizer, tmp_path):
    rgba = np.dstack([make_photo(2, (60, 80)), np.tile(np.arange(80, dtype=np.uint8) * 3, (60, 1))])
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path)
    out = colorizer.colorize(path)
    assert out.mode == "RGBA" and out.size == (80, 60)
    np.testing.assert_array_equal(np.asarray(out)[..., 3], rgba[..., 3])
    saved = save_result(out, tmp_path / "out.png")
    np.testing.assert_array_equal(np.asarray(Image.open(saved))[..., 3], rgba[..., 3])


def test_palette_png(colorizer, tmp_path):
    path = tmp_path / "palette.png"
    Image.fromarray(make_photo(4, (60, 80))).convert("P", palette=Image.ADAPTIVE, colors=16).save(path)
    out = colorizer.colorize(path)
    assert out.size == (80, 60) and out.mode == "RGB"


def test_exif_rotated_jpeg_is_turned_upright(colorizer, tmp_path):
    photo = make_photo(6, (60, 80))  # stored 80 wide x 60 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    exif[0x013B] = "A. Photographer"  # Artist, to check EXIF is carried over
    path = tmp_path / "rotated.jpg"
    Image.fromarray(photo).save(path, exif=exif.tobytes(), quality=95)
    out = colorizer.colorize(path)
    assert out.size == (60, 80)
    # Upright means the input's L, rotated: compare against the loader's upright pixels.
    upright = np.asarray(load_image(path).rgb)
    assert np.abs(lab_of(np.asarray(out))[..., 0] - lab_of(upright)[..., 0]).max() < 1.0
    saved = Image.open(save_result(out, tmp_path / "out.jpg"))
    assert saved.size == (60, 80)
    assert saved.getexif().get(0x013B) == "A. Photographer"
    assert 0x0112 not in saved.getexif()  # or viewers would rotate it a second time


def test_rgb_icc_profile_is_kept_and_others_are_not(colorizer, tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    lab_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert rgb_icc_profile(srgb) == srgb
    assert rgb_icc_profile(lab_profile) is None and rgb_icc_profile(b"junk") is None
    path = tmp_path / "tagged.jpg"
    Image.fromarray(make_photo(7, (40, 48))).save(path, icc_profile=srgb)
    out = colorizer.colorize(path)
    assert out.info["icc_profile"] == srgb
    assert Image.open(save_result(out, tmp_path / "tagged.png")).info.get("icc_profile") == srgb


def test_numpy_and_pil_inputs(colorizer):
    photo = make_photo(8, (48, 64))
    from_rgb = np.asarray(colorizer.colorize(photo))
    from_pil = np.asarray(colorizer.colorize(Image.fromarray(photo)))
    np.testing.assert_array_equal(from_rgb, from_pil)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    assert colorizer.colorize(gray).size == (64, 48)
    rgba = np.dstack([photo, np.full((48, 64), 128, np.uint8)])
    assert colorizer.colorize(rgba).mode == "RGBA"
    with pytest.raises(ValueError, match="uint8"):
        colorizer.colorize(photo.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        colorizer.colorize(np.zeros((4, 4, 2), np.uint8))


def test_rgb_input_is_treated_as_gray(colorizer):
    """Only L reaches the network: a colour photo and a gray photo with the same L get the same colours."""
    photo = make_photo(9, (48, 64))
    gray = np.asarray(Colorizer(model=tiny_generator(), render_size=64, saturation=0.0).colorize(photo))
    assert (gray[..., 0] == gray[..., 2]).all()
    colour_in, _ = colorizer.network_input(load_image(Image.fromarray(photo)))
    gray_in, _ = colorizer.network_input(load_image(Image.fromarray(gray)))
    assert (colour_in - gray_in).abs().max() < 0.02  # 1 L unit = 0.02 in model space
    ab_colour = colorizer.predict_ab([load_image(Image.fromarray(photo))])[0]
    ab_gray = colorizer.predict_ab([load_image(Image.fromarray(gray))])[0]
    assert (ab_colour - ab_gray).abs().mean() < 0.1 * ab_colour.abs().mean()


def test_a_gray_photo_and_its_rgb_copy_give_the_network_the_same_input(colorizer):
    """Gray photos take a one-channel path to the network's input: the same numbers as the RGB path."""
    gray = Image.fromarray(np.random.default_rng(3).integers(0, 256, (90, 130), dtype=np.uint8))
    one, where_one = colorizer.network_input(load_image(gray))
    three, where_three = colorizer.network_input(load_image(gray.convert("RGB")))
    assert load_image(gray).mode == "L" and where_one == where_three and torch.equal(one, three)


def test_batch_equals_one_by_one(colorizer):
    images = [make_photo(10, (48, 64)), make_photo(11, (60, 80)), make_photo(12, (64, 48)), make_photo(13, (40, 120))]
    batched = colorizer.colorize_batch(images)
    for image, result in zip(images, batched):
        single = np.asarray(colorizer.colorize(image)).astype(int)
        assert np.abs(np.asarray(result).astype(int) - single).max() <= 1
    # At render size 64 the 4:3 and 3:4 photos pad to 64x64 and share a forward pass; the panorama pads to 32x64.
    shapes = {tuple(colorizer.network_input(load_image(Image.fromarray(i)))[0].shape) for i in images}
    assert len(shapes) == 2


def test_saturation_zero_gives_the_gray_input(colorizer):
    photo = make_photo(14, (60, 80))
    gray = Colorizer(model=tiny_generator(), render_size=64, saturation=0.0).colorize(photo)
    lab = lab_of(np.asarray(gray))
    assert np.abs(lab[..., 1:]).max() < 0.5
    arr = np.asarray(gray)
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    assert chroma(np.asarray(colorizer.colorize(photo))).mean() > 3.0


def test_any_size_multiple_and_odd_shapes():
    torch.manual_seed(1)
    from colorize.models import build_generator

    deep = Colorizer(model=build_generator("pix2pix_unet", num_downs=6, num_filters=4), render_size=96)
    assert deep.size_multiple == 64
    for h, w in ((1, 1), (3, 1000), (97, 61), (50, 50)):
        assert deep.colorize(make_photo(15, (h, w)) if min(h, w) > 3 else np.zeros((h, w, 3), np.uint8)).size == (w, h)


def test_from_checkpoint_matches_the_model(tmp_path, colorizer):
    path = save_generator(colorizer.model, tmp_path / "tiny.safetensors")
    loaded = Colorizer.from_checkpoint(path, render_size=64)
    assert loaded.name == "tiny" and loaded.arch == "pix2pix_unet"
    photo = make_photo(16, (48, 64))
    np.testing.assert_array_equal(np.asarray(loaded.colorize(photo)), np.asarray(colorizer.colorize(photo)))
    via_function = colorize_image(photo, checkpoint=path, render_size=64)
    np.testing.assert_array_equal(np.asarray(via_function), np.asarray(colorizer.colorize(photo)))


def test_bf16_is_close_to_fp32(colorizer):
    bf16 = Colorizer(model=tiny_generator(), render_size=64, precision="bf16")
    photo = make_photo(17, (48, 64))
    diff = np.abs(np.asarray(bf16.colorize(photo)).astype(int) - np.asarray(colorizer.colorize(photo)).astype(int))
    assert diff.mean() < 3.0


def test_missing_bundled_default_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "weights" / "default.safetensors"
    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", missing)
    with pytest.raises(FileNotFoundError, match="bundled default model is missing"):
        Colorizer()
    with pytest.raises(FileNotFoundError, match="bundled default model is missing"):
        colorize_image(make_photo(0, (32, 32)))


def test_bad_options_and_inputs_are_clear_errors(colorizer, tmp_path):
    model = tiny_generator()
    with pytest.raises(ValueError, match="multiple of 32"):
        Colorizer(model=model, render_size=100)
    with pytest.raises(ValueError, match="backend"):
        Colorizer(model=model, backend="cuda")
    with pytest.raises(ValueError, match="fp32 only"):
        Colorizer(model=model, backend="onnx", precision="bf16")
    with pytest.raises(ValueError, match="saturation"):
        Colorizer(model=model, saturation=-1)
    with pytest.raises(ValueError, match="either a model or a checkpoint"):
        Colorizer(model=model, checkpoint=tmp_path / "x.safetensors")
    with pytest.raises(FileNotFoundError):
        Colorizer(checkpoint=tmp_path / "nope.safetensors")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ValueError, match="image"):
        colorizer.colorize(broken)
    with pytest.raises(ValueError):
        colorizer.colorize(io.BytesIO(b""))


def test_package_exports_the_api_without_loading_torch_early():
    import subprocess
    import sys

    probe = ("import sys, colorize, colorize.cli.infer, colorize.inference_options; "
             "assert 'torch' not in sys.modules, 'torch loaded by import colorize'; "
             "from colorize import Colorizer, InferenceOptions, colorize_image; "
             "import colorize.infer as infer; "
             "assert Colorizer is infer.Colorizer and colorize_image is infer.colorize_image; "
             "assert InferenceOptions is infer.InferenceOptions")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_from_options_and_keyword_overrides():
    options = infer.InferenceOptions(render_size=96, saturation=0.5, batch_size=2)
    colorizer = Colorizer.from_options(options, model=tiny_generator(), name="tiny")
    assert colorizer.options == options and colorizer.name == "tiny"
    assert Colorizer(model=tiny_generator(), options=options, render_size=64).options.render_size == 64
    with pytest.raises(TypeError, match="render_sise"):
        Colorizer(model=tiny_generator(), render_sise=64)


def test_public_batch_prediction_and_network_step(colorizer):
    frames = [make_photo(i, (48, 64)) for i in range(3)]
    ab = colorizer.predict_ab(frames)  # uint8 arrays, as a video reader gives them
    assert [tuple(a.shape) for a in ab] == [(2, 48, 64)] * 3
    l_norm, box = colorizer.network_input(frames[0])
    assert tuple(l_norm.shape) == (1, 1, 64, 64) and box == (8, 0, 48, 64)
    ab_norm = colorizer.run_network(l_norm)
    top, left, height, width = box
    np.testing.assert_allclose(ab_norm[0, :, top : top + height, left : left + width] * 110, ab[0], atol=1e-4)


def test_max_pixels_is_enforced_for_every_input(tmp_path):
    small = Colorizer(model=tiny_generator(), render_size=64, max_pixels=1000)
    assert small.colorize(make_photo(0, (20, 40))).size == (40, 20)
    with pytest.raises(ValueError, match="megapixels"):
        small.colorize(make_photo(0, (40, 40)))
    with pytest.raises(ValueError, match="megapixels"):
        small.predict_ab([make_photo(0, (40, 40))])
