"""scripts/doc_tables.py: the docs' number tables are generated from committed reports, and --check guards them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def doc_tables():
    spec = importlib.util.spec_from_file_location("doc_tables", REPO / "scripts" / "doc_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
