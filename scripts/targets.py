"""Which of the colour targets a model meets, on each photo set, from the reports `colorize compare` wrote.

    python scripts/targets.py MODEL --l1 L1_MODEL --against default \
        "val split=runs/sel-valsplit/report.json" "BSDS500 val=runs/sel-bsds/report.json" --json docs/reports/NAME.json

Each report must hold the floors `gray` and `mean-ab`, MODEL and the other names given, with its per-photo rows
(the untrimmed report.json). At the 256x256 protocol the targets are: PSNR at least 0.3 dB above the better floor,
CIEDE2000 at least 0.8 below the better floor, dCF at most 5, each mean cast (a, b) within 1.0 of the real
photos', fd_efflite0 at most 0.7 x gray's, and against the same-budget L1-only model (`--l1`): lower fd_efflite0
and dCF with at most 0.3 dB less PSNR. PSNR and CIEDE2000 differences come with a 95 % paired bootstrap interval
over the photos, so a margin can be read against the noise of the photo sample; it says nothing of the noise from
one training run to the next. `--against NAME` adds MODEL's differences to another model (e.g. the bundled one).
Writes a report in the benchmark format (`benchmarks/bench_report.py`) for `scripts/doc_tables.py`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

FLOORS = ("gray", "mean-ab")
PROTOCOL = "256"
PSNR_MARGIN, CIEDE_MARGIN, MAX_DCF, MAX_CAST, MAX_FD_RATIO, MAX_PSNR_LOSS_TO_L1 = 0.3, 0.8, 5.0, 1.0, 0.7, 0.3


def paired_difference(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over paired photos and its 95 % bootstrap interval (percentile, 4,000 resamples)."""
    from scipy.stats import bootstrap

    diff = np.asarray(a, float) - np.asarray(b, float)
    if len(diff) < 2:
        return float(diff.mean()), float("nan"), float("nan")
    ci = bootstrap((diff,), np.mean, n_resamples=4000, confidence_level=0.95, method="percentile",
                   rng=np.random.default_rng(seed)).confidence_interval
    return float(diff.mean()), float(ci.low), float(ci.high)


def per_photo(result: dict, name: str, key: str) -> np.ndarray:
    return np.array([row["scores"][name][key] for row in result["per_image"]])


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _interval(mean: float, low: float, high: float) -> str:
    return f"{_signed(mean)} ({_signed(low)} to {_signed(high)})"


def set_rows(label: str, report: dict, model: str, l1: str | None, against: list[str]) -> list[list]:
    """The target rows of one photo set: [set, target, measured, met]."""
    if PROTOCOL not in report["protocols"]:
        raise ValueError(f"{label}: the report has no {PROTOCOL}x{PROTOCOL} protocol")
    result = report["protocols"][PROTOCOL]
    table = result["metrics"]
    missing = [n for n in (*FLOORS, model, *([l1] if l1 else []), *against) if n not in table]
    if missing:
        raise ValueError(f"{label}: the report has no model {', '.join(missing)}; it has {', '.join(table)}")
    if "per_image" not in result:
        raise ValueError(f"{label}: the report has no per-photo rows (a trimmed report); give the run's report.json")
    m = table[model]
    best_psnr = max(FLOORS, key=lambda n: table[n]["psnr"])
    best_ciede = min(FLOORS, key=lambda n: table[n]["ciede2000"])
    psnr = paired_difference(per_photo(result, model, "psnr"), per_photo(result, best_psnr, "psnr"))
    ciede = paired_difference(per_photo(result, best_ciede, "ciede2000"), per_photo(result, model, "ciede2000"))
    fd_ratio = m["fd_efflite0"] / table["gray"]["fd_efflite0"]
    n = len(result["per_image"])
    where = f"{label} ({n})"
    rows = [
        [where, f"PSNR over {best_psnr} >= +{PSNR_MARGIN} dB", _interval(*psnr), psnr[0] >= PSNR_MARGIN],
        [where, f"CIEDE2000 under {best_ciede} >= {CIEDE_MARGIN}", _interval(*ciede), ciede[0] >= CIEDE_MARGIN],
        [where, f"dCF <= {MAX_DCF:g}", f"{m['dcf']:.2f}", m["dcf"] <= MAX_DCF],
        [where, f"cast a, b within {MAX_CAST:g}", f"{m['cast_a']:+.2f}, {m['cast_b']:+.2f}",
         abs(m["cast_a"]) <= MAX_CAST and abs(m["cast_b"]) <= MAX_CAST],
        [where, f"fd_efflite0 <= {MAX_FD_RATIO:g} x gray's", f"{fd_ratio:.2f} x", fd_ratio <= MAX_FD_RATIO],
    ]
    if l1:
        r = table[l1]
        loss = paired_difference(per_photo(result, l1, "psnr"), per_photo(result, model, "psnr"))
        rows.append([where, f"vs {l1}: lower fd_efflite0 and dCF, PSNR loss <= {MAX_PSNR_LOSS_TO_L1} dB",
                     f"fd {m['fd_efflite0']:.1f} vs {r['fd_efflite0']:.1f}, dCF {m['dcf']:.2f} vs {r['dcf']:.2f}, "
                     f"PSNR loss {_interval(*loss)}",
                     m["fd_efflite0"] < r["fd_efflite0"] and m["dcf"] < r["dcf"] and loss[0] <= MAX_PSNR_LOSS_TO_L1])
    for other in against:
        o = table[other]
        dpsnr = paired_difference(per_photo(result, model, "psnr"), per_photo(result, other, "psnr"))
        dciede = paired_difference(per_photo(result, other, "ciede2000"), per_photo(result, model, "ciede2000"))
        better = [dpsnr[0] > 0, dciede[0] > 0, m["dcf"] < o["dcf"], m["fd_efflite0"] < o["fd_efflite0"]]
        rows.append([where, f"vs {other}: PSNR, CIEDE2000 (gain), dCF, fd_efflite0",
                     f"PSNR {_interval(*dpsnr)}, CIEDE2000 {_interval(*dciede)}, dCF {m['dcf']:.2f} vs "
                     f"{o['dcf']:.2f}, fd {m['fd_efflite0']:.1f} vs {o['fd_efflite0']:.1f}",
                     f"better on {sum(better)} of 4"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the model the targets are checked for (its name in the reports)")
    parser.add_argument("sets", nargs="+", metavar="LABEL=REPORT", help="a photo set's label and report.json")
    parser.add_argument("--l1", help="the same-budget L1-only model's name in the reports")
    parser.add_argument("--against", action="append", default=[], help="another model to compare with")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    from colorize.evaluate import load_report

    rows, sources = [], []
    for item in args.sets:
        label, sep, path = item.partition("=")
        if not sep:
            parser.error(f"{item!r}: expected LABEL=REPORT")
        rows += set_rows(label, load_report(path), args.model, args.l1, args.against)
        sources.append(path)
    report = {
        "benchmark": "targets",
        "command": shlex.join(["python", "scripts/targets.py", *(argv if argv is not None else sys.argv[1:])]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"computed from {', '.join(sources)} (256x256 protocol; 95 % paired bootstrap intervals over "
                   "the photos)",
        "tables": {"targets": {"columns": ["photos", "target", f"{args.model}", "met"], "rows": rows}},
    }
    for row in rows:
        print(" | ".join(str(c) for c in row))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
