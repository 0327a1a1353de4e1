"""benchmarks/serve_load.py's report: a row per run, rows with other settings kept, numbers already rounded."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from conftest import load_script

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def load():
    sys.path.insert(0, str(BENCHMARKS))  # the script imports bench_report beside it
    try:
        yield load_script(BENCHMARKS / "serve_load.py", "serve_load")
    finally:
        sys.path.remove(str(BENCHMARKS))


def run(load, path: Path, queue: int, rate: float, monkeypatch) -> dict:
    monkeypatch.setattr(sys, "argv", ["benchmarks/serve_load.py", "--queue-size", str(queue), "--json", str(path)])
    args = argparse.Namespace(queue_size=queue, workers=2, clients=16, retry="after", rate_limits=False, seconds=60.0,
                              megapixels=1.0, machine_note="shared", table="web", json=path)
    report = load.bench_report.Report("serve_load", threads=1)
    stats = {"ok": 700, "refused": 3, "errors": 0}
    load.write_report(report, args, rate, [1.234, 1.5, 2.0], stats, {"413": 6}, 541.7, 63.4, 1.166)
    return json.loads(path.read_text())


def test_report_rows_are_rounded_and_other_settings_are_kept(load, tmp_path, monkeypatch):
    path = tmp_path / "serve-load.json"
    first = run(load, path, 32, 12.5432, monkeypatch)
    assert first["benchmark"] == "serve_load" and first["when"].endswith("Z")
    assert "other processes used 1.17 of the" in first["machine"] and first["machine"].endswith("shared")
    table = first["tables"]["web"]
    assert table["columns"][:8] == ["queue", "workers", "clients", "retry", "rate limits", "results/s", "p50 s",
                                    "p95 s"]
    assert table["rows"] == [[32, 2, 16, "after", "off", 12.54, 1.5, 1.95, 700, 3, 0, "6 x 413", 63, 542]]

    second = run(load, path, 4, 10.0, monkeypatch)  # another queue size: a second row
    assert [row[0] for row in second["tables"]["web"]["rows"]] == [32, 4]
    assert second["command"].count("serve_load.py") == 2
    third = run(load, path, 4, 11.0, monkeypatch)  # the same settings again: that row is replaced
    assert [(row[0], row[5]) for row in third["tables"]["web"]["rows"]] == [(32, 12.54), (4, 11.0)]
    assert third["command"].count("serve_load.py") == 2


def test_cpu_counters_read_this_process(load):
    import os

    assert load.cpu_seconds(os.getpid()) > 0
    assert load.machine_busy_seconds() > 0
    assert load.cpu_seconds(2**22 + 12345) != load.cpu_seconds(2**22 + 12345)  # no such process: nan
