"""Colour hints at inference: Colorizer(hints=...), both engines, the ONNX hint input, and `colorize image --hint`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.cli import main
from colorize.hints import Hint
from colorize.infer import Colorizer
from colorize.lab import rgb_to_lab, uint8_to_tensor
from colorize.models import build_generator, save_generator
from colorize.models.encoder_unet import HINT_INPUT_SCALE
from colorize.onnx_export import OnnxGenerator, export_onnx
from infer_support import private_onnx_cache, tiny_generator  # noqa: F401

RED = (192, 48, 32)
RENDER = dict(render_size=64)


def pointing_model() -> torch.nn.Module:
    """A hint model that predicts gray everywhere except under a hint, where it predicts tanh(the hint's ab): the
    hint's hue, exactly where the planes put it, so the tests see where a hint lands."""
    torch.manual_seed(0)
    model = build_generator("efficientnet_lite0", pretrained=False, decoder_channels=[8, 8, 8, 8], hints=True)
    with torch.no_grad():
        for p in model.head[0].parameters():
            p.zero_()
        model.hint_paths.to_head.weight[0, 0, 1, 1] = 1.0 / HINT_INPUT_SCALE
        model.hint_paths.to_head.weight[1, 1, 1, 1] = 1.0 / HINT_INPUT_SCALE
    return model.eval()


def lab_at(image: Image.Image, x: int, y: int) -> tuple[float, float, float]:
    rgb = np.asarray(image.convert("RGB"))[y : y + 1, x : x + 1]
    return tuple(rgb_to_lab(uint8_to_tensor(np.array(rgb)))[0, :, 0, 0].tolist())


def hue(a: float, b: float) -> float:
    return math.degrees(math.atan2(b, a))


def red_hue() -> float:
    _, a, b = lab_at(Image.new("RGB", (1, 1), RED), 0, 0)
    return hue(a, b)


def gray_photo(width: int = 96, height: int = 64) -> np.ndarray:
    return np.random.default_rng(1).integers(90, 170, (height, width), dtype=np.uint8)


@pytest.mark.parametrize("backend", ["torch", "onnx", "auto"])
def test_a_hint_colours_the_photo_where_it_was_placed(backend):
    photo = gray_photo()
    colorizer = Colorizer(pointing_model(), backend=backend, **RENDER)
    assert colorizer.takes_hints and colorizer.describe()["takes_hints"]
    out = colorizer.colorize(photo, hints=[Hint(70, 20, RED, radius=4)])
    light, a, b = lab_at(out, 70, 20)
    assert math.hypot(a, b) > 20 and abs(hue(a, b) - red_hue()) < 8
    assert abs(light - lab_at(Image.fromarray(photo), 70, 20)[0]) < 1.5  # the lightness stays the photo's own
    assert max(abs(v) for v in lab_at(out, 10, 50)[1:]) < 2  # far from the hint: gray
    assert np.array_equal(np.asarray(colorizer.colorize(photo, hints=[])), np.asarray(colorizer.colorize(photo)))


def test_hint_positions_are_those_of_the_photo_as_displayed(tmp_path):
    stored = Image.fromarray(gray_photo(96, 64)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise: 64 wide, 96 tall
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif.tobytes(), quality=95)
    out = Colorizer(pointing_model(), backend="torch", **RENDER).colorize(path, hints=["12,80,#c03020,4"])
    assert out.size == (64, 96)
    _, a, b = lab_at(out, 12, 80)
    assert math.hypot(a, b) > 20 and abs(hue(a, b) - red_hue()) < 8


def test_hints_in_a_batch_stay_with_their_image():
    colorizer = Colorizer(pointing_model(), backend="torch", batch_size=4, **RENDER)
    photos = [gray_photo(), gray_photo()]
    hints = [[{"x": 10, "y": 10, "color": "#c03020", "radius": 4}], None]
    guided, plain = colorizer.predict_ab(photos, hints)
    assert plain.abs().max() < 1e-3 and guided.abs().max() > 20
    alone = colorizer.predict_ab(photos[:1], hints[:1])[0]
    assert torch.allclose(guided, alone, atol=1e-3)
    with pytest.raises(ValueError, match="one list .* per image"):
        colorizer.predict_ab(photos, hints[:1])


@pytest.mark.parametrize("hints, message", [
    (["200,10,#c03020"], "outside the 96x64 photo"),
    (["10,10,#c0302"], "bad hint"),
    ([{"x": 1, "y": 2, "color": "red"}], "bad hint colour"),
    (["1,1,#000000"] * 65, "at most 64"),
    ([3.5], "a hint is a Hint"),
])
def test_bad_hints_are_clear_errors(hints, message):
    colorizer = Colorizer(pointing_model(), backend="torch", **RENDER)
    with pytest.raises(ValueError, match=message):
        colorizer.colorize(gray_photo(), hints=hints)


def test_hints_for_a_model_without_them_are_refused_before_anything_runs():
    colorizer = Colorizer(tiny_generator(), backend="torch", hint_reach=0, **RENDER)
    assert not colorizer.takes_hints and not colorizer.reads_hints
    with pytest.raises(ValueError, match="does not read colour hints and hint_reach is 0"):
        colorizer.colorize(gray_photo(), hints=["10,10,#c03020"])
    assert colorizer._engine is None  # nothing ran: the engine is built on the first forward pass
    colorizer.colorize(gray_photo(), hints=[])  # no hint is not an error


def test_a_model_without_hint_input_follows_hints_by_spreading():
    """The tiny hint-free model predicts near-gray; a red hint on the left half (one lightness) turns that half red
    around the hint and leaves the darker right half, across the edge, nearly as it was."""
    photo = np.full((64, 96), 105, dtype=np.uint8)  # about the hint colour's own L, so it stays in gamut
    photo[:, 48:] = 20
    colorizer = Colorizer(tiny_generator(), backend="torch", **RENDER)
    assert colorizer.takes_hints and not colorizer.reads_hints
    plain = colorizer.colorize(photo)
    guided = colorizer.colorize(photo, hints=[Hint(20, 30, RED, radius=2)])
    light, a, b = lab_at(guided, 20, 30)
    _, a_red, b_red = lab_at(Image.new("RGB", (1, 1), RED), 0, 0)
    assert math.hypot(a - a_red, b - b_red) < 6  # the hint's own colour where it was placed
    assert abs(light - lab_at(Image.fromarray(photo), 20, 30)[0]) < 1.5  # the photo's own lightness
    _, a_near, b_near = lab_at(guided, 40, 50)
    assert math.hypot(a_near, b_near) > 20 and abs(hue(a_near, b_near) - red_hue()) < 15  # spread over the region
    across = np.subtract(lab_at(guided, 60, 30)[1:], lab_at(plain, 60, 30)[1:])
    assert np.hypot(*across) < 3  # not across the lightness edge


def test_the_onnx_export_of_a_hint_model_carries_the_hint_input(tmp_path):
    model = pointing_model()
    with torch.no_grad():
        model.hint_paths.to_input.weight.normal_(0, 0.5)  # the backbone path too, so both paths are compared
    path = export_onnx(model, tmp_path / "hints.onnx")
    runner = OnnxGenerator(path)
    assert runner.takes_hints and [i.name for i in runner.session.get_inputs()] == ["l_norm", "hints"]
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    hints = torch.zeros(2, 3, 64, 96)
    hints[:, :, 10:20, 30:50] = torch.tensor([0.4, 0.3, 1.0]).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.allclose(runner(l_norm, hints), model(l_norm, hints), atol=1e-4)
        assert torch.allclose(runner(l_norm), model(l_norm), atol=1e-4)  # no hints: zero planes
    from_file = Colorizer.from_checkpoint(path, **RENDER)
    assert from_file.takes_hints
    out = from_file.colorize(gray_photo(), hints=[Hint(70, 20, RED, radius=4)])
    assert math.hypot(*lab_at(out, 70, 20)[1:]) > 20

    plain = OnnxGenerator(export_onnx(tiny_generator(), tmp_path / "plain.onnx"))
    assert not plain.takes_hints
    with pytest.raises(ValueError, match="takes no colour hints"):
        plain(l_norm, hints)


@pytest.fixture(scope="module")
def hint_checkpoint(tmp_path_factory):
    return save_generator(pointing_model(), tmp_path_factory.mktemp("hint-model") / "hints.safetensors")


def test_cli_hints_and_hints_file(hint_checkpoint, tmp_path, capsys):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(gray_photo()).save(src)
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps([{"x": 20, "y": 40, "color": [40, 160, 60], "radius": 4}]))
    args = ["image", str(src), "-o", str(out), "--checkpoint", str(hint_checkpoint), "--render-size", "64",
            "--backend", "torch", "--hint", "70,20,#c03020,4", "--hints-file", str(hints_file)]
    assert main(args) == 0
    assert "2 colour hints" in capsys.readouterr().out
    result = Image.open(out)
    _, a, b = lab_at(result, 70, 20)
    assert abs(hue(a, b) - red_hue()) < 8
    _, a, b = lab_at(result, 20, 40)
    assert a < -10 and b > 10  # the green one


@pytest.mark.parametrize("extra, message", [
    (["--hint", "500,20,#c03020"], "outside the 96x64 photo"),
    (["--hint", "5,5,c03020x"], "bad hint"),
    (["--hints-file", "missing.json"], "no such hints file"),
])
def test_cli_bad_hints_write_nothing(hint_checkpoint, tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(gray_photo()).save(tmp_path / "in.png")
    code = main(["image", "in.png", "-o", "out.png", "--checkpoint", str(hint_checkpoint), "--render-size", "64",
                 "--backend", "torch", *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_cli_hints_need_one_photo_and_a_hint_model(tmp_path, capsys):
    for name in ("a.png", "b.png"):
        Image.fromarray(gray_photo()).save(tmp_path / name)
    plain = save_generator(tiny_generator(), tmp_path / "plain.safetensors")
    base = ["--checkpoint", str(plain), "--render-size", "64", "--backend", "torch", "--hint", "5,5,#c03020"]
    assert main(["image", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "out"), *base]) == 2
    assert "give one input, not 2" in capsys.readouterr().err
    assert main(["image", str(tmp_path / "a.png"), "-o", str(tmp_path / "a_out.png"), *base, "--hint-reach", "0"]) == 2
    assert "does not read colour hints" in capsys.readouterr().err
    assert not (tmp_path / "a_out.png").exists() and not (tmp_path / "out").exists()
