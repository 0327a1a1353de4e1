"""benchmarks/hints.py: the hint protocol (seeded 5x5 patch means) and a whole run on a tiny folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize.models import save_generator
from conftest import load_script, make_photo
from infer_support import tiny_generator
from test_infer_hints import pointing_model

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "hints.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_hints")


def test_protocol_hints_are_seeded_nested_patch_means(bench):
    real = make_photo(3, (40, 60))
    twenty = bench.protocol_hints(real, photo_index=7, seed=0, count=20)
    assert twenty == bench.protocol_hints(real, 7, 0, 20)
    assert bench.protocol_hints(real, 7, 0, 5) == twenty[:5]  # k hints are the first k of the 20
    assert bench.protocol_hints(real, 8, 0, 20) != twenty and bench.protocol_hints(real, 7, 1, 20) != twenty
    for hint in twenty:
        x, y = int(hint.x), int(hint.y)
        assert 2 <= x < 58 and 2 <= y < 38 and hint.radius == 2
        patch = real[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).astype(float)
        assert np.abs(np.array(hint.rgb) - patch.mean(axis=0)).max() <= 0.5
    with pytest.raises(ValueError, match="too small"):
        bench.protocol_hints(real[:4], 0, 0, 1)


def test_model_names(bench):
    assert bench.parse_model("default") == ("default", None)
    assert bench.parse_model("runs/a/generator.safetensors") == ("a", Path("runs/a/generator.safetensors"))
    assert bench.parse_model("x=m.onnx") == ("x", Path("m.onnx"))


def test_a_run_scores_hint_counts_and_writes_the_report(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(3):
        Image.fromarray(make_photo(seed, (64, 96))).save(photos / f"{seed}.png")
    guided = save_generator(pointing_model(), tmp_path / "guided.safetensors")
    plain = save_generator(tiny_generator(), tmp_path / "plain.safetensors")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(SCRIPT), f"guided={guided}", f"plain={plain}", "--data", str(photos),
                           "--hint-reach", "0", "--per-photo", "--render-size", "64", "--backend", "torch", "--json", str(report)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "hints" in done.stdout and "gain dB" in done.stdout
    result = json.loads(report.read_text())
    assert result["protocol"]["counts"] == [0, 1, 5, 10, 20] and result["protocol"]["patch"] == 5
    rows = {row["hints"]: row for row in result["models"]["guided"]["rows"]}
    assert list(rows) == [0, 1, 5, 10, 20] and len(result["models"]["guided"]["per_photo"]["20"]["psnr"]) == 3
    # The pointing model paints the hints' real colours where they are: more hints, closer to the photo.
    assert rows[20]["psnr"] > rows[5]["psnr"] > rows[0]["psnr"] + 0.02 and rows[20]["ciede2000"] < rows[0]["ciede2000"]
    assert [row["hints"] for row in result["models"]["plain"]["rows"]] == [0]  # takes no hints: 0 only
    table = result["tables"]["gain"]
    assert table["columns"][:4] == ["model", "network reads hints", "hint reach", "0 hints: PSNR / CIEDE2000"]
    assert table["columns"][-2:] == ["gain at 10", "gain at 20"]
    assert [row[:3] for row in table["rows"]] == [["guided", "yes", "0"], ["plain", "no", "0"]]


def test_spreading_lets_a_hint_free_model_follow_hints(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed, colours in enumerate([((200, 60, 40), (40, 60, 160)), ((60, 150, 60), (230, 200, 90))]):
        photo = np.empty((64, 96, 3), np.uint8)  # two flat regions: what hints and their spreading are for
        photo[:, :48], photo[:, 48:] = colours
        Image.fromarray(photo).save(photos / f"{seed}.png")
    plain = save_generator(tiny_generator(), tmp_path / "plain.safetensors")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(SCRIPT), f"plain={plain}", "--data", str(photos), "--counts", "0", "10",
                           "--hint-reach", "0.2", "0", "--render-size", "64", "--backend", "torch",
                           "--json", str(report)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    models = json.loads(report.read_text())["models"]
    spread = {row["hints"]: row for row in models["plain reach=0.2"]["rows"]}
    assert spread[10]["psnr"] > spread[0]["psnr"] + 3 and not models["plain reach=0.2"]["reads_hints"]
    assert [row["hints"] for row in models["plain reach=0"]["rows"]] == [0]
