"""scripts/targets.py: the colour targets read from compare reports, with paired bootstrap margins."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import load_script


@pytest.fixture(scope="module")
def targets():
    return load_script("scripts/targets.py", "targets")


def _report(n: int = 40, gain: float = 0.5) -> dict:
    """gray and mean-ab floors, `ours` `gain` dB better than mean-ab on every photo (plus seeded noise), `l1`."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        base = 22 + rng.normal()
        noise = rng.normal(scale=0.2)
        scores = {
            "gray": {"psnr": base - 0.1, "ciede2000": 11.0},
            "mean-ab": {"psnr": base, "ciede2000": 11.5},
            "ours": {"psnr": base + gain + noise, "ciede2000": 10.0 + noise},
            "l1": {"psnr": base + gain + 0.1, "ciede2000": 10.1},
        }
        rows.append({"file": f"{i}.jpg", "real_cf": 40.0, "scores": scores})

    def means(name):
        return {k: float(np.mean([r["scores"][name][k] for r in rows])) for k in ("psnr", "ciede2000")}

    table = {
        "gray": {**means("gray"), "dcf": 40.0, "cast_a": 0.5, "cast_b": -5.0, "fd_efflite0": 60.0},
        "mean-ab": {**means("mean-ab"), "dcf": 35.0, "cast_a": 0.1, "cast_b": -0.4, "fd_efflite0": 62.0},
        "ours": {**means("ours"), "dcf": 4.0, "cast_a": 0.3, "cast_b": 1.5, "fd_efflite0": 40.0},
        "l1": {**means("l1"), "dcf": 14.0, "cast_a": -0.2, "cast_b": 0.5, "fd_efflite0": 47.0},
    }
    return {"protocols": {"256": {"per_image": rows, "metrics": table}}}


def test_paired_difference_gives_the_mean_and_an_interval_around_it(targets):
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    mean, low, high = targets.paired_difference(a + 0.5 + rng.normal(scale=0.1, size=200), a)
    assert low < mean < high and abs(mean - 0.5) < 0.05 and high - low < 0.1  # paired: a's spread cancels
    assert targets.paired_difference(a, a + 1.0) == pytest.approx((-1.0, -1.0, -1.0))


def test_targets_are_read_from_the_report(targets):
    rows = {row[1]: row for row in targets.set_rows("val", _report(), "ours", "l1", ["l1"])}
    assert rows["PSNR over mean-ab >= +0.3 dB"][3] is True
    assert rows["CIEDE2000 under gray >= 0.8"][3] is True
    assert rows["dCF <= 5"][3] is True
    assert rows["cast a, b within 1"][3] is False  # b is 1.5 off
    assert rows["fd_efflite0 <= 0.7 x gray's"][2] == "0.67 x" and rows["fd_efflite0 <= 0.7 x gray's"][3] is True
    assert rows["vs l1: lower fd_efflite0 and dCF, PSNR loss <= 0.3 dB"][3] is True
    assert rows["vs l1: PSNR, CIEDE2000 (gain), dCF, fd_efflite0"][3] == "better on 3 of 4"
    assert all(row[0] == "val (40)" for row in rows.values())

    small_gain = {row[1]: row for row in targets.set_rows("val", _report(gain=0.1), "ours", None, [])}
    assert small_gain["PSNR over mean-ab >= +0.3 dB"][3] is False


def test_bad_reports_are_clear_errors(targets, tmp_path):
    with pytest.raises(ValueError, match="no model best"):
        targets.set_rows("val", _report(), "best", None, [])
    trimmed = _report()
    del trimmed["protocols"]["256"]["per_image"]
    with pytest.raises(ValueError, match="trimmed report"):
        targets.set_rows("val", trimmed, "ours", None, [])


def test_the_command_writes_a_benchmark_format_report(targets, tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(_report()))
    out = tmp_path / "targets.json"
    assert targets.main(["ours", "--l1", "l1", f"val={tmp_path / 'report.json'}", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    table = report["tables"]["targets"]
    assert table["columns"] == ["photos", "target", "ours", "met"] and len(table["rows"]) == 6
    assert report["command"].startswith("python scripts/targets.py ours")
