"""`colorize image`, `folder`, `export`, `doctor` end to end, with a tiny random generator saved to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_photo
from infer_support import tiny_generator, private_onnx_cache  # noqa: F401

from colorize import infer
from colorize.cli import main
from colorize.models import save_generator


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return save_generator(tiny_generator(), tmp_path_factory.mktemp("model") / "tiny.safetensors")


def fast(checkpoint: Path) -> list[str]:
    return ["--checkpoint", str(checkpoint), "--render-size", "64"]


def test_image_one_file(checkpoint, tmp_path, capsys):
    src = tmp_path / "old.jpg"
    Image.fromarray(make_photo(0, (60, 80))).convert("L").save(src)
    out = tmp_path / "result" / "new.png"
    assert main(["image", str(src), "-o", str(out), *fast(checkpoint)]) == 0
    result = Image.open(out)
    assert result.format == "PNG" and result.size == (80, 60) and result.mode == "RGB"
    assert "done 1" in capsys.readouterr().out


def test_image_several_files_into_a_folder_and_default_names(checkpoint, tmp_path):
    sources = []
    for i, name in enumerate(["a.png", "b.jpg", "c.tif"]):
        Image.fromarray(make_photo(i, (40, 48))).save(tmp_path / name)
        sources.append(str(tmp_path / name))
    assert main(["image", *sources, "-o", str(tmp_path / "out"), *fast(checkpoint)]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert main(["image", sources[1], *fast(checkpoint), "--format", "webp"]) == 0
    assert Image.open(tmp_path / "b_color.webp").format == "WEBP"


def test_image_failures_are_reported_with_exit_code_1(checkpoint, tmp_path, capsys):
    good = tmp_path / "good.png"
    Image.fromarray(make_photo(0, (40, 48))).save(good)
    code = main(["image", str(good), str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"), *fast(checkpoint)])
    out = capsys.readouterr().out
    assert code == 1
    assert "done 1" in out and "failed 1" in out and "missing.png: " in out and "no such file" in out
    assert (tmp_path / "out" / "good.png").is_file()


def test_image_bad_output_name_is_a_usage_error(checkpoint, tmp_path, capsys):
    src = tmp_path / "a.png"
    Image.fromarray(make_photo(0, (40, 48))).save(src)
    assert main(["image", str(src), "-o", str(tmp_path / "out.gif"), *fast(checkpoint)]) == 2
    assert "cannot tell the output format" in capsys.readouterr().err


def test_folder_run_reports_failures_and_resumes(checkpoint, tmp_path, capsys):
    src = tmp_path / "scans"
    for i in range(20):
        sub = src / ("1950s" if i % 2 else "1960s")
        sub.mkdir(parents=True, exist_ok=True)
        photo = Image.fromarray(make_photo(i, (36 + i, 48)))
        photo.convert("L").save(sub / f"photo_{i:02d}.{'jpg' if i % 3 else 'png'}")
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40)
    out = tmp_path / "colour"

    code = main(["folder", str(src), str(out), *fast(checkpoint), "--batch-size", "3", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1
    assert "done 20, skipped 0 (already done), failed 1" in text
    assert "corrupt.jpg: not a recognised image" in text  # the reason, not just the name
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(outputs) == 20
    assert "1950s/photo_01.jpg" in outputs and "1960s/photo_00.png" in outputs  # the tree is mirrored
    assert not [p for p in out.rglob("*.partial")]
    first_mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    code = main(["folder", str(src), str(out), *fast(checkpoint), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1  # the corrupt file still fails
    assert "done 0, skipped 20 (already done), failed 1" in text
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == first_mtimes

    (src / "corrupt.jpg").unlink()
    code = main(["folder", str(src), str(out), *fast(checkpoint), "--no-progress", "--overwrite",
                 "--format", "png"])
    text = capsys.readouterr().out
    assert code == 0 and "done 20, skipped 0 (already done), failed 0" in text
    assert (out / "1950s" / "photo_01.png").is_file()


def test_folder_output_inside_input_is_not_rescanned(checkpoint, image_folder, capsys):
    out = image_folder / "colour"
    assert main(["folder", str(image_folder), str(out), *fast(checkpoint), "--no-progress"]) == 0
    assert main(["folder", str(image_folder), str(out), *fast(checkpoint), "--no-progress"]) == 0
    assert "done 0, skipped 12" in capsys.readouterr().out.splitlines()[-1]


def test_folder_missing_input_is_a_usage_error(checkpoint, tmp_path, capsys):
    assert main(["folder", str(tmp_path / "nope"), str(tmp_path / "out"), *fast(checkpoint)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_export_then_colorize_with_onnx(checkpoint, tmp_path, capsys):
    onnx_path = tmp_path / "tiny.onnx"
    assert main(["export", "--onnx", str(onnx_path), "--checkpoint", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    assert onnx_path.is_file() and "max |ab diff|" in text
    src = tmp_path / "a.png"
    Image.fromarray(make_photo(0, (40, 48))).save(src)
    assert main(["image", str(src), "-o", str(tmp_path / "onnx.png"), "--checkpoint", str(onnx_path),
                 "--render-size", "64"]) == 0
    assert main(["image", str(src), "-o", str(tmp_path / "torch.png"), *fast(checkpoint)]) == 0
    diff = np.abs(np.asarray(Image.open(tmp_path / "onnx.png")).astype(int)
                  - np.asarray(Image.open(tmp_path / "torch.png")).astype(int))
    assert diff.max() <= 1


def test_export_needs_a_target(capsys):
    assert main(["export"]) == 2
    assert "--onnx" in capsys.readouterr().err


def test_doctor(checkpoint, monkeypatch, tmp_path, capsys):
    assert main(["doctor", "--checkpoint", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    for word in ("colorize", "torch", "onnxruntime", "Pillow", "kornia", "threads", "backend", str(checkpoint)):
        assert word in text
    assert "exists" in text and "pix2pix_unet" in text

    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", tmp_path / "default.safetensors")
    assert main(["doctor"]) == 1
    assert "MISSING" in capsys.readouterr().out


def test_missing_bundled_default_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", tmp_path / "default.safetensors")
    src = tmp_path / "a.png"
    Image.fromarray(make_photo(0, (40, 48))).save(src)
    assert main(["image", str(src), "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err
    assert "bundled default model is missing" in err and len(err.strip().splitlines()) == 1


def test_max_pixels_flag_and_backend_choice(checkpoint, tmp_path, capsys):
    src = tmp_path / "a.png"
    Image.fromarray(make_photo(0, (40, 48))).save(src)
    code = main(["image", str(src), "-o", str(tmp_path / "small.png"), *fast(checkpoint), "--max-pixels", "1000"])
    assert code == 1 and "megapixels" in capsys.readouterr().out
    assert not (tmp_path / "small.png").exists()
    for backend in ("torch", "auto"):
        out = tmp_path / f"{backend}.png"
        assert main(["image", str(src), "-o", str(out), *fast(checkpoint), "--backend", backend]) == 0
    diff = np.abs(np.asarray(Image.open(tmp_path / "torch.png")).astype(int)
                  - np.asarray(Image.open(tmp_path / "auto.png")).astype(int))
    assert diff.max() <= 1
    assert main(["image", str(src), *fast(checkpoint), "--render-size", "100"]) == 2
    assert "multiple of 32" in capsys.readouterr().err
