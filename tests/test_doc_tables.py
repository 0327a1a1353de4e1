"""scripts/doc_tables.py: the docs' number tables are generated from committed reports, and --check guards them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, load_script


@pytest.fixture(scope="module")
def doc_tables():
    return load_script("scripts/doc_tables.py", "doc_tables")


def _report() -> dict:
    row = {"psnr": 22.5, "ssim": 0.9, "ciede2000": 12.0, "cf": 0.0, "dcf": 30.0, "cast_a": 1.0, "cast_b": -2.0}
    better = {**row, "psnr": 23.25, "cf": 25.0, "dcf": 5.0, "cast_a": -0.5}
    return {"models": [{"name": "gray"}, {"name": "ours"}],
            "protocols": {"64": {"metrics": {"gray": row, "ours": better}, "real_cf": 30.0},
                          "full": {"metrics": {"gray": row, "ours": {**better, "psnr": "inf"}}, "real_cf": 31.0}}}


def test_the_repository_docs_match_their_reports():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "doc_tables.py"), "--check"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_regenerate_replaces_only_the_marked_table(doc_tables, tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps(_report()))
    text = ("intro\n<!-- table:run protocols=64 columns=psnr,cast_a bold=best labels=ours:bundled -->\n"
            "| stale |\n<!-- /table:run -->\noutro\n")
    fresh = doc_tables.regenerate(text, tmp_path)
    lines = fresh.splitlines()
    assert lines[0] == "intro" and lines[-1] == "outro" and "stale" not in fresh
    assert lines[2].split("|")[3].strip() == "psnr↑" and lines[2].split("|")[4].strip() == "cast_a→0"
    assert "| bundled " in fresh and "**23.25**" in fresh and "**-0.50**" in fresh and "full" not in fresh
    assert doc_tables.regenerate(fresh, tmp_path) == fresh  # a second run changes nothing


def test_check_fails_on_a_stale_doc_and_the_rewrite_fixes_it(doc_tables, tmp_path: Path, capsys):
    (tmp_path / "docs" / "reports").mkdir(parents=True)
    (tmp_path / "docs" / "reports" / "run.json").write_text(json.dumps(_report()))
    for doc in doc_tables.DOCS:
        (tmp_path / doc).write_text("<!-- table:run -->\n| old numbers |\n<!-- /table:run -->\n")
    assert doc_tables.main(["--check", "--repo", str(tmp_path)]) == 1
    assert "-| old numbers |" in capsys.readouterr().out
    assert doc_tables.main(["--repo", str(tmp_path)]) == 0
    assert doc_tables.main(["--check", "--repo", str(tmp_path)]) == 0
    ours_full = [line for line in (tmp_path / "README.md").read_text().splitlines() if "full" in line and "ours" in line]
    assert [cell.strip() for cell in ours_full[0].split("|")][3] == "inf"  # "inf" in JSON is infinity again


def test_bad_markers_are_clear_errors(doc_tables, tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps(_report()))
    with pytest.raises(ValueError, match="table option 'colour=red'"):
        doc_tables.regenerate("<!-- table:run colour=red -->\n<!-- /table:run -->", tmp_path)
    with pytest.raises(ValueError, match="not in the report: nobody"):
        doc_tables.regenerate("<!-- table:run models=nobody -->\n<!-- /table:run -->", tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        doc_tables.regenerate("<!-- table:missing -->\n<!-- /table:missing -->", tmp_path)


def _benchmark() -> dict:
    return {"benchmark": "train_throughput", "command": "python benchmarks/train_throughput.py --threads 1",
            "when": "2026-12-01T02:10:00Z", "machine": "2-core test CPU, shared",
            "tables": {"gan": {"columns": ["generator", "step", "img/s", "ratio", "note"],
                               "rows": [["pix2pix_unet", "GAN", 1.8, "3.10x", None],
                                        ["efficientnet_lite0", "GAN", 2.45, "**2.95x**", "a|b"],
                                        ["resnet18", "GAN", 3, "-", 7]]},
                       "pretrain": {"columns": ["generator", "img/s"], "rows": [["pix2pix_unet", 3.5]]}}}


def test_a_benchmark_table_renders_from_its_report(doc_tables, tmp_path: Path):
    (tmp_path / "train-throughput.json").write_text(json.dumps(_benchmark()))
    text = "a\n<!-- table:train-throughput.gan -->\n| stale |\n<!-- /table:train-throughput.gan -->\nb\n"
    fresh = doc_tables.regenerate(text, tmp_path)
    lines = fresh.splitlines()
    assert lines[1] == "<!-- table:train-throughput.gan -->" and lines[-2] == "<!-- /table:train-throughput.gan -->"
    assert lines[2:7] == ["| generator | step | img/s | ratio | note |",
                          "| --- | --- | ---: | ---: | --- |",
                          "| pix2pix_unet | GAN | 1.80 | 3.10x |  |",  # a column's floats: the same decimals
                          "| efficientnet_lite0 | GAN | 2.45 | **2.95x** | a\\|b |",  # null empty, | escaped
                          "| resnet18 | GAN | 3 | - | 7 |"]
    assert "`python benchmarks/train_throughput.py --threads 1`" in lines[8] and "2-core test CPU, shared" in lines[8]
    assert "2026-12-01 02:10:00 UTC" in lines[8]
    assert doc_tables.regenerate(fresh, tmp_path) == fresh  # a second run changes nothing
    # Columns by name or position, without the source line; a report with one table needs no table name.
    picked = doc_tables.regenerate("<!-- table:train-throughput.gan columns=ratio,1 source=no -->\n"
                                   "<!-- /table:train-throughput.gan -->", tmp_path).splitlines()
    assert picked[1:] == ["| ratio | generator |", "| ---: | --- |", "| 3.10x | pix2pix_unet |",
                          "| **2.95x** | efficientnet_lite0 |", "| - | resnet18 |",
                          "<!-- /table:train-throughput.gan -->"]
    report = _benchmark()
    del report["tables"]["pretrain"]
    (tmp_path / "one.json").write_text(json.dumps(report))
    assert "| pix2pix_unet | GAN | 1.80 |" in doc_tables.regenerate("<!-- table:one -->\n<!-- /table:one -->", tmp_path)


def test_check_fails_when_a_benchmark_report_changes(doc_tables, tmp_path: Path, capsys):
    reports = tmp_path / "docs" / "reports"
    reports.mkdir(parents=True)
    (reports / "train-throughput.json").write_text(json.dumps(_benchmark()))
    for doc in doc_tables.DOCS:
        (tmp_path / doc).write_text("<!-- table:train-throughput.pretrain -->\n<!-- /table:train-throughput.pretrain -->\n"
                                    "<!-- table:run -->\n<!-- /table:run -->\n")
    (reports / "run.json").write_text(json.dumps(_report()))  # both kinds of report in one doc
    assert doc_tables.main(["--repo", str(tmp_path)]) == 0
    assert doc_tables.main(["--check", "--repo", str(tmp_path)]) == 0
    rerun = _benchmark()
    rerun["tables"]["pretrain"]["rows"][0][1] = 3.75
    (reports / "train-throughput.json").write_text(json.dumps(rerun))
    capsys.readouterr()
    assert doc_tables.main(["--check", "--repo", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "-| pix2pix_unet | 3.5 |" in out and "+| pix2pix_unet | 3.75 |" in out
    assert doc_tables.main(["--repo", str(tmp_path)]) == 0
    assert doc_tables.main(["--check", "--repo", str(tmp_path)]) == 0


def test_bad_benchmark_markers_are_clear_errors(doc_tables, tmp_path: Path):
    (tmp_path / "bench.json").write_text(json.dumps(_benchmark()))
    (tmp_path / "run.json").write_text(json.dumps(_report()))

    def render(marker: str, name: str) -> str:
        return doc_tables.regenerate(f"<!-- table:{marker} -->\n<!-- /table:{name} -->", tmp_path)

    with pytest.raises(ValueError, match=r"table:bench.nope: the report has no table 'nope'; its tables: gan, pretrain"):
        render("bench.nope", "bench.nope")
    with pytest.raises(ValueError, match=r"has 2 tables, name one as table:REPORT.TABLE with TABLE one of: gan, pret"):
        render("bench", "bench")
    with pytest.raises(ValueError, match=r"no column 'fps'; columns are 1-5: generator, step, img/s, ratio, note"):
        render("bench.gan columns=fps", "bench.gan")
    with pytest.raises(ValueError, match="bold= is for evaluation reports"):
        render("bench.gan bold=best", "bench.gan")
    with pytest.raises(ValueError, match="source= is for benchmark reports"):
        render("run source=no", "run")
    with pytest.raises(ValueError, match="run.json is an evaluation report, it has no named tables"):
        render("run.gan", "run.gan")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        render("missing.gan", "missing.gan")
