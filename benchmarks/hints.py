"""How much user colour hints help: PSNR and CIEDE2000 on BSDS500 val at full resolution with 0, 1, 5, 10, 20 hints.

    python benchmarks/hints.py runs/hints/generator.safetensors                  # one hint model
    python benchmarks/hints.py guided=runs/hints/generator.safetensors plain=runs/l1/generator.safetensors default
    python benchmarks/hints.py MODEL --limit 10 --counts 0 10 --json /tmp/hints.json
    python benchmarks/hints.py default --hint-reach 0.2 0     # spreading on (the default), and the network alone

The protocol (issue 15): every photo of the folder at its own resolution; the model sees only its lightness (the
gray baseline's output, as `colorize compare` does). For photo i, 20 positions are drawn with
numpy.random.default_rng([seed, i]).random((20, 2)) (x, y per row), uniformly among the pixels whose 5x5 patch
lies inside the photo; each hint
is the mean RGB of the real photo's 5x5 patch there (rounded), placed at the patch centre with radius 2 (the same
5x5 square). With k hints a photo gets the first k of its 20, so the sets are nested and every model sees the same
hints. Each model is scored at every `--hint-reach` (`InferenceOptions.hint_reach`: how far the edge-aware
spreading of `colorize.hint_spread` carries a hint; 0 = only a network trained with --hints reads them); a
model that takes no hints at a reach (a hint-free network at reach 0) is scored with 0 hints only. Scores are
means over photos; the table also gives each count's PSNR gain over 0 hints.

Models: `default` (the bundled model), or a generator file / training checkpoint / .onnx, optionally NAME=PATH.
Prints a table and writes a JSON report (protocol, means, a summary table for `scripts/doc_tables.py`, and with
--per-photo every photo's scores). One torch thread unless --threads.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "../shared/datasets/bsds500/val"
DEFAULT_COUNTS = (0, 1, 5, 10, 20)
PATCH = 5  # side of the real photo's patch a hint's colour is the mean of
HINT_RADIUS = PATCH // 2


def protocol_hints(real: np.ndarray, photo_index: int, seed: int, count: int) -> list:
    """The benchmark's `count` hints for one real (H, W, 3) uint8 photo: seeded positions, 5x5 mean colours."""
    from colorize.hints import Hint

    height, width = real.shape[:2]
    if height < PATCH or width < PATCH:
        raise ValueError(f"photo {photo_index} is {width}x{height}: too small for {PATCH}x{PATCH} hint patches")
    # One (x, y) row per hint, drawn in order: the first k hints are the same whatever `count` is.
    u = np.random.default_rng([seed, photo_index]).random((count, 2))
    xs = HINT_RADIUS + np.floor(u[:, 0] * (width - 2 * HINT_RADIUS)).astype(int)
    ys = HINT_RADIUS + np.floor(u[:, 1] * (height - 2 * HINT_RADIUS)).astype(int)
    hints = []
    for x, y in zip(xs.tolist(), ys.tolist()):
        patch = real[y - HINT_RADIUS : y + HINT_RADIUS + 1, x - HINT_RADIUS : x + HINT_RADIUS + 1].reshape(-1, 3)
        rgb = tuple(int(c) for c in np.rint(patch.mean(axis=0)))
        hints.append(Hint(float(x), float(y), rgb, HINT_RADIUS))
    return hints


def parse_model(spec: str) -> tuple[str, Path | None]:
    """'default', 'PATH' or 'NAME=PATH' -> (name, path or None for the bundled model)."""
    if spec == "default":
        return "default", None
    name, sep, path = spec.partition("=")
    if not sep:
        path = Path(spec)
        name = path.parent.name if path.stem in ("generator", "last") else path.stem
    return name, Path(path)


def load_photos(folder: Path, limit: int | None) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """(names, real photos, what the models see: the gray baseline's output) of the folder's colour photos."""
    from colorize.evaluate import gray_inputs, scan_photos
    from colorize.images import load_image

    photos = scan_photos(folder, limit)
    reals = [load_image(path).rgb_array() for path in photos.paths]
    return [photos.name(path) for path in photos.paths], reals, gray_inputs(reals)


def score_model(colorizer, reals: list[np.ndarray], grays: list[np.ndarray], counts: list[int],
                seed: int) -> dict[int, dict[str, list[float]]]:
    """Per count, the per-photo PSNR and CIEDE2000 of `colorizer` with that many protocol hints."""
    from colorize.metrics import ciede2000, psnr

    counts = counts if colorizer.takes_hints else [0]
    scores = {k: {"psnr": [], "ciede2000": []} for k in counts}
    for index, (real, gray) in enumerate(zip(reals, grays)):
        all_hints = protocol_hints(real, index, seed, max(counts))
        for k in counts:
            pred = np.asarray(colorizer.colorize(gray, hints=all_hints[:k] or None).convert("RGB"))
            scores[k]["psnr"].append(psnr(pred, real))
            scores[k]["ciede2000"].append(ciede2000(pred, real))
    return scores


def summarise(scores: dict[int, dict[str, list[float]]]) -> list[dict]:
    rows = []
    base = float(np.mean(scores[0]["psnr"])) if 0 in scores else None
    for k, values in sorted(scores.items()):
        mean_psnr = float(np.mean(values["psnr"]))
        rows.append({"hints": k, "psnr": mean_psnr, "ciede2000": float(np.mean(values["ciede2000"])),
                     "psnr_gain": None if base is None else mean_psnr - base})
    return rows


def print_table(results: dict[str, dict], photos: int) -> None:
    print(f"\nBSDS500 val protocol, {photos} photos at full resolution (means; gain = PSNR over 0 hints)")
    print(f"{'model':<24} {'hints':>5} {'psnr':>7} {'ciede2000':>9} {'gain dB':>8}")
    for name, result in results.items():
        for row in result["rows"]:
            gain = "" if row["psnr_gain"] is None else f"{row['psnr_gain']:+.2f}"
            print(f"{name:<24} {row['hints']:>5} {row['psnr']:>7.2f} {row['ciede2000']:>9.2f} {gain:>8}")


def gain_table(results: dict[str, dict]) -> dict:
    """The report's summary table (`scripts/doc_tables.py` renders it): a row per model, a "PSNR / CIEDE2000"
    column per hint count, then the PSNR gain over 0 hints at the two largest counts."""
    counts = sorted({row["hints"] for result in results.values() for row in result["rows"]})
    gains = [k for k in counts if k][-2:]
    columns = ["model", "network reads hints", "hint reach"] + [f"{k} hints: PSNR / CIEDE2000" for k in counts] + [
        f"gain at {k}" for k in gains]
    rows = []
    for name, result in results.items():
        by_count = {row["hints"]: row for row in result["rows"]}
        scores = [f"{by_count[k]['psnr']:.2f} / {by_count[k]['ciede2000']:.2f}" if k in by_count else None
                  for k in counts]
        gain = [f"{by_count[k]['psnr_gain']:+.2f} dB" if k in by_count else None for k in gains]
        rows.append([name, "yes" if result["reads_hints"] else "no", f"{result['hint_reach']:g}", *scores, *gain])
    return {"columns": columns, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="'default', a checkpoint path, or NAME=PATH")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of real colour photos")
    parser.add_argument("--counts", type=int, nargs="+", default=list(DEFAULT_COUNTS), help="hint counts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hint positions")
    parser.add_argument("--limit", type=int, default=None, help="first N photos only (for a quick look)")
    parser.add_argument("--hint-reach", type=float, nargs="+", default=None,
                        help="spreading reach(es) to score each model at (default: the inference default)")
    parser.add_argument("--render-size", type=int, default=256)
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=Path("hints_report.json"), help="where the report goes")
    parser.add_argument("--per-photo", action="store_true", help="also keep every photo's scores in the report")
    parser.add_argument("--machine-note", default="", metavar="TEXT",
                        help="added to the report's machine field, e.g. 'shared with a training run'")
    args = parser.parse_args()
    if any(k < 0 for k in args.counts) or 0 not in args.counts:
        parser.error("--counts must be >= 0 and include 0 (the baseline every gain is measured against)")
    counts = sorted(set(args.counts))
    models = [parse_model(spec) for spec in args.models]  # bad specs fail before any photo is read

    import torch
    from bench_report import Report

    torch.set_num_threads(args.threads)
    stamp = Report("hints", args.threads, args.machine_note)
    from colorize.infer import Colorizer, InferenceOptions

    reaches = args.hint_reach or [InferenceOptions().hint_reach]
    names, reals, grays = load_photos(args.data, args.limit)
    results = {}
    for name, path in models:
        for reach in reaches:
            options = InferenceOptions(checkpoint=path, render_size=args.render_size, backend=args.backend,
                                       num_threads=args.threads, hint_reach=reach)
            colorizer = Colorizer(options=options, name=name)
            label = name if len(reaches) == 1 else f"{name} reach={reach:g}"
            started = time.perf_counter()
            scores = score_model(colorizer, reals, grays, counts, args.seed)
            results[label] = {"checkpoint": str(colorizer.checkpoint), "takes_hints": colorizer.takes_hints,
                              "reads_hints": colorizer.reads_hints, "hint_reach": reach,
                              "rows": summarise(scores), "seconds": time.perf_counter() - started}
            if args.per_photo:
                results[label]["per_photo"] = {str(k): v for k, v in scores.items()}
            print(f"{label}: {len(reals)} photos, counts {list(scores)}, {results[label]['seconds']:.0f} s",
                  flush=True)
    print_table(results, len(reals))
    report = {
        "benchmark": stamp.benchmark, "command": stamp.command, "when": stamp.when, "machine": stamp.machine(),
        "protocol": {"data": str(args.data), "photos": names, "resolution": "full", "counts": counts,
                     "seed": args.seed, "patch": PATCH, "hint_radius": HINT_RADIUS, "render_size": args.render_size,
                     "backend": args.backend, "input": "gray baseline (the photo's L, a = b = 0)"},
        "models": results,
        "tables": {"gain": gain_table(results)},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"report: {args.json}")


if __name__ == "__main__":
    main()
