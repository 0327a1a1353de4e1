"""The evaluation protocol, reports and the `evaluate` / `compare` commands, on small photos made here."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import make_photo, skimage_photo
from PIL import Image
from skimage.color import rgb2lab

from colorize import evaluate as ev
from colorize.baselines import GrayBaseline, MeanAbBaseline
from colorize.cli import main


def _key(arr: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest()


class Oracle:
    """A stand-in colorizer that 'knows' the answer: it looks up the real photo behind each gray input."""

    name = "oracle"

    def __init__(self, folder: Path, size: int):
        self.answers = {}
        for path in sorted(folder.rglob("*.png")) + sorted(folder.rglob("*.jpg")):
            rgb = Image.open(path).convert("RGB")
            for protocol in (str(size), ev.FULL):
                real = ev.protocol_reference(rgb, protocol)
                self.answers[_key(ev.gray_inputs([real])[0])] = real

    def colorize(self, image):
        return Image.fromarray(self.answers[_key(np.asarray(image))])


class SameAsGray(GrayBaseline):
    name = "same-as-gray"


# --- protocol pieces ----------------------------------------------------------------------------------------------


def test_protocol_reference_takes_the_middle_of_the_short_side_resize_as_training_does():
    img = Image.fromarray(make_photo(2, (40, 100)))  # 100 wide, 40 high
    out = ev.protocol_reference(img, "20")
    assert out.shape == (20, 20, 3)
    resized = img.resize((50, 20), Image.BICUBIC)
    assert np.array_equal(out, np.asarray(resized)[:, 15:35])
    # Upscaling a small photo works the same way.
    assert ev.protocol_reference(Image.fromarray(make_photo(2, (10, 12))), "32").shape == (32, 32, 3)
    assert np.array_equal(ev.protocol_reference(img, ev.FULL), np.asarray(img))


def test_gray_inputs_keep_lab_lightness_and_drop_colour():
    photo = make_photo(7, (24, 24))
    gray = ev.gray_inputs([photo])[0]
    assert gray.shape == photo.shape and gray.dtype == np.uint8
    assert np.abs(gray[..., 0].astype(int) - gray[..., 2]).max() <= 1
    assert np.abs(rgb2lab(gray)[..., 0] - rgb2lab(photo)[..., 0]).max() < 0.5


def test_scan_photos_skips_grayscale_and_unreadable_files_and_counts_them(image_folder: Path):
    Image.new("RGB", (40, 40), (120, 120, 120)).save(image_folder / "zz_gray.png")
    Image.new("L", (40, 40), 80).save(image_folder / "aa_mode_l.png")
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.warns(UserWarning, match="broken.jpg"):
        photos = ev.scan_photos(image_folder)
    assert len(photos.paths) == 12
    assert photos.skipped_grayscale == ["aa_mode_l.png", "zz_gray.png"]
    assert photos.skipped_unreadable == ["broken.jpg"]
    with pytest.warns(UserWarning, match="broken.jpg"):
        limited = ev.scan_photos(image_folder, limit=3)
    assert [photos.name(p) for p in limited.paths] == ["real/astronaut.jpg", "real/chelsea.jpg", "real/coffee.jpg"]


def test_scan_photos_without_colour_photos_is_a_clear_error(tmp_path: Path):
    Image.new("RGB", (40, 40), (120, 120, 120)).save(tmp_path / "gray.png")
    with pytest.raises(ValueError, match="no usable colour photos.*1 grayscale"):
        ev.scan_photos(tmp_path)
    with pytest.raises(FileNotFoundError):
        ev.scan_photos(tmp_path / "missing")


def test_colorizer_that_changes_the_size_is_rejected():
    class Shrinker:
        name = "shrinker"

        def colorize(self, image):
            return image.resize((8, 8))

    with pytest.raises(ValueError, match="shrinker: returned a 8x8 image for a 16x16 input"):
        ev.colorize_array(Shrinker(), np.zeros((16, 16, 3), np.uint8))


def test_colorize_arrays_batches_when_the_colorizer_can():
    class Counting(GrayBaseline):
        calls = 0

        def colorize_batch(self, images):
            type(self).calls += 1
            return super().colorize_batch(images)

    grays = [np.full((16, 16, 3), v, np.uint8) for v in (10, 120, 240)]
    preds = ev.colorize_arrays(Counting(), grays)
    assert Counting.calls == 1 and [p[0, 0, 0] for p in preds] == [10, 120, 240]


# --- scoring ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    # Module-scoped (scoring is the slow part): 3 synthetic photos and 2 real ones, different sizes.
    folder = tmp_path_factory.mktemp("photos")
    (folder / "real").mkdir()
    for i in range(3):
        Image.fromarray(make_photo(i, (48, 56))).save(folder / f"synthetic_{i}.png")
    for name in ("astronaut", "coffee"):
        Image.fromarray(skimage_photo(name, 48)).save(folder / "real" / f"{name}.jpg", quality=92)
    photos = ev.scan_photos(folder)
    colorizers = [Oracle(folder, 32), GrayBaseline(), SameAsGray(), MeanAbBaseline()]
    return ev.evaluate_colorizers(colorizers, photos, size=32, full_resolution=True, fd=False, progress=False)


def test_evaluation_scores_an_oracle_perfectly_and_gray_with_zero_colourfulness(small_result):
    assert set(small_result.protocols) == {"32", "full"}
    for protocol, res in small_result.protocols.items():
        oracle, gray = res["metrics"]["oracle"], res["metrics"]["gray"]
        assert oracle["psnr"] == math.inf
        assert oracle["ssim"] == pytest.approx(1.0) and oracle["ciede2000"] == 0.0 and oracle["dcf"] == 0.0
        assert oracle["cf"] == pytest.approx(res["real_cf"])
        assert gray["cf"] == pytest.approx(0.0, abs=0.5)
        assert gray["dcf"] == pytest.approx(res["real_cf"], abs=0.5)
        assert 5 < gray["psnr"] < 40 and gray["ciede2000"] > 1
        assert res["metrics"]["same-as-gray"] == gray
        assert len(res["per_image"]) == 5
    assert [r["file"] for r in small_result.protocols["full"]["per_image"]][:3] == [
        "real/astronaut.jpg", "real/coffee.jpg", "synthetic_0.png"]


def test_win_rates_are_pairwise_per_photo_with_ties_counted_half(small_result):
    rates = small_result.protocols["32"]["win_rates"]
    assert rates["psnr"]["oracle"]["gray"] == 1.0 and rates["psnr"]["gray"]["oracle"] == 0.0
    assert rates["ciede2000"]["oracle"]["mean-ab"] == 1.0
    assert rates["psnr"]["gray"]["same-as-gray"] == 0.5  # identical outputs: every photo a tie
    for metric in rates.values():
        assert metric["gray"]["mean-ab"] + metric["mean-ab"]["gray"] == pytest.approx(1.0)


def test_verdict_names_the_best_per_metric_with_its_direction(small_result):
    line = small_result.protocols["32"]["verdict"]
    assert line.startswith("best at 32x32: ")
    assert "psnr↑ oracle (inf)" in line and "ciede2000↓ oracle (0.00)" in line and "dcf↓ oracle" in line
    assert "cf " not in line.replace("dcf", "")  # CF has no direction: not in the verdict


def test_evaluation_is_deterministic(image_folder: Path):
    photos = ev.scan_photos(image_folder, limit=3)
    runs = [ev.evaluate_colorizers([MeanAbBaseline()], photos, size=24, full_resolution=False, fd=False,
                                   progress=False).protocols for _ in range(2)]
    assert runs[0] == runs[1]


def test_report_json_writes_infinity_as_the_string_inf_and_reads_it_back(small_result, tmp_path: Path):
    config = ev.CompareConfig(models=("oracle", "gray"), data=tmp_path)
    report = ev.report_dict(small_result, "compare", config)
    text = json.dumps(report, allow_nan=False)  # must not need NaN/Infinity tokens
    assert report["protocols"]["32"]["metrics"]["oracle"]["psnr"] == "inf"
    assert report["protocols"]["32"]["per_image"][0]["scores"]["oracle"]["psnr"] == "inf"
    assert report["metrics_info"]["psnr"]["higher_is_better"] is True
    (tmp_path / "r.json").write_text(text)
    assert ev.load_report(tmp_path / "r.json")["protocols"]["32"]["metrics"]["oracle"]["psnr"] == math.inf


def test_table_has_one_row_per_model_and_resolution_and_shows_inf(small_result):
    table = ev.format_table(small_result).splitlines()
    assert table[0].startswith("| resolution | model")
    assert len(table) == 2 + 2 * (4 + 1)  # header, rule, (4 models + real photos) x 2 resolutions
    oracle_row = next(r for r in table if "oracle" in r)
    assert "| inf " in oracle_row


def test_best_median_worst_picks_by_the_named_metric():
    per_image = [{"scores": {"m": {"psnr": p, "ciede2000": d}}} for p, d in [(20, 5), (30, 1), (10, 9), (25, 2)]]
    assert ev.best_median_worst(per_image, "m", "psnr") == [("best", 1), ("median", 0), ("worst", 2)]
    assert ev.best_median_worst(per_image, "m", "ciede2000") == [("best", 1), ("median", 0), ("worst", 2)]
    assert ev.best_median_worst(per_image[:1], "m", "psnr") == [("best", 0)]
    assert ev.evenly_spaced(10, 4) == [0, 3, 6, 9] and ev.evenly_spaced(2, 6) == [0, 1]


def test_configs_reject_bad_values(tmp_path: Path):
    with pytest.raises(ValueError, match="--data is required"):
        ev.EvaluateConfig()
    with pytest.raises(ValueError, match="at least one"):
        ev.CompareConfig(data=tmp_path)
    with pytest.raises(ValueError, match="size must be >= 8"):
        ev.CompareConfig(models=("gray",), data=tmp_path, size=4)
    with pytest.raises(ValueError, match="limit must be >= 1"):
        ev.EvaluateConfig(data=tmp_path, limit=0)


# --- the commands -------------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    from colorize.models import build_generator, save_generator

    path = tmp_path / "tiny.safetensors"
    save_generator(build_generator("pix2pix_unet", num_downs=5, num_filters=8), path)
    return path


def test_compare_baselines_and_a_checkpoint_prints_one_table_and_writes_the_reports(
    image_folder: Path, tiny_checkpoint: Path, tmp_path: Path, capsys
):
    out = tmp_path / "cmp"
    code = main(["compare", "gray", "mean-ab", str(tiny_checkpoint), "--data", str(image_folder), "--out", str(out),
                 "--size", "64", "--limit", "3", "--grid-rows", "3", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.count("| resolution | model") == 1  # one table for everything
    assert "3 photos (0 grayscale and 0 unreadable skipped)" in printed
    assert "best at 64x64: psnr↑" in printed and "best at full resolution:" in printed

    report = json.loads((out / "report.json").read_text())
    names = [m["name"] for m in report["models"]]
    assert names[:2] == ["gray", "mean-ab"] and len(names) == 3
    assert report["models"][2]["source"] == str(tiny_checkpoint)
    assert report["n_photos"] == 3
    for protocol in ("64", "full"):
        table = report["protocols"][protocol]["metrics"]
        assert set(table) == set(names)
        for row in table.values():
            assert set(row) >= {"psnr", "ssim", "ciede2000", "cf", "dcf", "fd_efflite0"}
            assert row["fd_efflite0"] > 0
        assert report["protocols"][protocol]["win_rates"]["psnr"]["gray"][names[2]] is not None
    assert "## Per-photo win rates" in (out / "report.md").read_text()

    grid = Image.open(out / "grid.png")
    # gray | gray | mean-ab | tiny | real, 96-px cells (64 px crops shown at least 96 px), 3 rows with labels.
    assert grid.width == 5 * 96
    assert grid.height > 3 * 96


def test_evaluate_writes_best_median_worst_grid_and_includes_the_baseline_floor(
    image_folder: Path, tiny_checkpoint: Path, tmp_path: Path, capsys
):
    out = tmp_path / "ev"
    code = main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(image_folder), "--out", str(out),
                 "--size", "32", "--limit", "5", "--no-full-resolution", "--no-fd", "--grid-by", "psnr",
                 "--no-progress"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert [m["name"] for m in report["models"]][1:] == ["gray", "mean-ab"]
    assert list(report["protocols"]) == ["32"]
    assert "fd_efflite0" not in report["protocols"]["32"]["metrics"]["gray"]
    assert report["grid"]["ranked_by"] == "psnr"
    assert [r["pick"] for r in report["grid"]["rows"]] == ["best", "median", "worst"]
    grid = Image.open(out / "grid.png")
    assert grid.width == 3 * 96  # gray input | model | real
    assert "best at 32x32" in capsys.readouterr().out


def test_compare_with_an_unknown_model_is_a_one_line_error(image_folder: Path, tmp_path: Path, capsys):
    code = main(["compare", "gray", "nonexistent.safetensors", "--data", str(image_folder), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "neither a checkpoint file nor one of default, gray, mean-ab" in err and "Traceback" not in err


def test_compare_without_data_is_a_one_line_error(capsys):
    assert main(["compare", "gray"]) == 2
    assert "--data is required" in capsys.readouterr().err


def test_default_means_the_bundled_model(monkeypatch, tiny_checkpoint: Path, tmp_path: Path):
    from colorize import infer

    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", tiny_checkpoint)
    colorizer = ev.load_colorizer("default")
    assert colorizer.name == "default"
    assert ev.colorize_array(colorizer, np.zeros((32, 32, 3), np.uint8)).shape == (32, 32, 3)
    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError, match="bundled default model is missing"):
        ev.load_colorizer("default")


def test_compare_names_models_by_the_one_naming_rule(image_folder: Path, tiny_checkpoint: Path, tmp_path: Path):
    code = main(["compare", str(tiny_checkpoint), str(tiny_checkpoint), "floor=gray", "--data", str(image_folder),
                 "--out", str(tmp_path), "--size", "32", "--limit", "2", "--no-full-resolution", "--no-fd",
                 "--grid-rows", "1", "--no-progress", "--render-size", "64", "--backend", "torch"])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["inference"]["render_size"] == 64 and report["config"]["inference"]["backend"] == "torch"
    assert [(m["name"], m["source"]) for m in report["models"]] == [
        ("tiny", str(tiny_checkpoint)), ("tiny-2", str(tiny_checkpoint)), ("floor", "floor=gray")]


def test_a_single_photo_has_no_feature_distance_and_reports_it_as_missing(image_folder: Path, tmp_path: Path):
    result = ev.evaluate_colorizers([GrayBaseline()], ev.scan_photos(image_folder, limit=1), size=16,
                                    full_resolution=False, fd=True, progress=False)
    row = result.protocols["16"]["metrics"]["gray"]
    assert math.isnan(row["fd_efflite0"])
    assert "fd_efflite0" not in result.protocols["16"]["verdict"]
    report = ev.report_dict(result, "compare", ev.CompareConfig(models=("gray",), data=image_folder))
    assert report["protocols"]["16"]["metrics"]["gray"]["fd_efflite0"] is None
    assert "| - " in ev.format_table(result).splitlines()[2]


def test_reports_hold_the_cast_metrics_and_trim_to_the_aggregate_rows(small_result, tmp_path: Path):
    for res in small_result.protocols.values():
        oracle, gray = res["metrics"]["oracle"], res["metrics"]["gray"]
        assert oracle["cast_a"] == 0.0 and oracle["cast_b"] == 0.0
        assert gray["cast_a"] != 0.0  # gray has a = b = 0: its cast is minus the photos' mean colour
    assert "cast_b→0" in ev.format_table(small_result).splitlines()[0]
    report = ev.report_dict(small_result, "compare", ev.CompareConfig(models=("gray",), data=tmp_path))
    assert report["metrics_info"]["cast_a"]["better"] == "zero"
    trimmed = ev.trim_report(report)
    assert set(trimmed["protocols"]["32"]) == {"description", "metrics", "real_cf", "verdict"}
    assert trimmed["protocols"]["32"]["metrics"] == report["protocols"]["32"]["metrics"]
    assert len(json.dumps(trimmed)) < len(json.dumps(report)) / 2


def test_metrics_table_can_bold_the_best_value_of_each_column(small_result):
    lines = ev.metrics_table(small_result.protocols, ["gray", "mean-ab"], bold_best=True).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    gray = [c.strip() for c in lines[2].strip("|").split("|")]
    mean_ab = [c.strip() for c in lines[3].strip("|").split("|")]
    col = header.index("cf")  # no direction: never bold
    assert not gray[col].startswith("**") and not mean_ab[col].startswith("**")
    col = header.index("ssim↑")
    assert gray[col].startswith("**") != mean_ab[col].startswith("**")


def test_adding_a_metric_is_one_record(monkeypatch, image_folder: Path):
    from colorize import metrics

    record = metrics.Metric("mean_red", "higher", "mean red level of the result",
                            per_image=lambda pair: float(pair.pred[..., 0].mean()))
    monkeypatch.setitem(metrics.METRICS, "mean_red", record)
    monkeypatch.setitem(metrics.PER_IMAGE_METRICS, "mean_red", record)
    result = ev.evaluate_colorizers([GrayBaseline(), MeanAbBaseline()], ev.scan_photos(image_folder, limit=2),
                                    size=16, full_resolution=False, fd=False, progress=False)
    table = result.protocols["16"]["metrics"]
    assert table["mean-ab"]["mean_red"] > 0 and "mean_red↑" in ev.format_table(result)
    assert "mean_red↑" in result.protocols["16"]["verdict"]


def test_the_command_options_load_without_torch():
    import subprocess
    import sys

    code = "import sys, colorize.evaluate_config; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
