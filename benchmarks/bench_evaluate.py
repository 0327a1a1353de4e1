"""Evaluation costs: where a photo's time goes, and `compare gray mean-ab default` end to end. Prints, asserts nothing.

    python benchmarks/bench_evaluate.py                       # stages on 16 photos + compare on 400 photos
    python benchmarks/bench_evaluate.py --photos 40 --no-stages
    python benchmarks/bench_evaluate.py --mean-ab             # also recompute the built-in mean ab (DEFAULT_MEAN_AB)

The compare set is issue 18's: BSDS500 val (100 photos) + the first photos of the ImageNet sample's train folder
(300 for 400 in all), linked into a temporary folder; 256x256 and full resolution, with fd_efflite0. Times are wall
clock and the process's CPU time (all threads), one torch thread unless --threads. The compare section uses only
the public API (`CompareConfig`, `run_compare`), so the same script times older code too:
`PYTHONPATH=OLD_CHECKOUT/src python benchmarks/bench_evaluate.py --no-stages`; run the two side by side for a ratio.
Paths are relative to the repository root (../shared/datasets/... by default).

`--json PATH` also writes a benchmark report (`benchmarks/bench_report.py`) with the tables "compare" (the end to
end run against the 4-minute target) and "stages" (ms per photo), which `scripts/doc_tables.py` renders:

    python benchmarks/bench_evaluate.py --threads 1 --json docs/reports/bench-evaluate.json
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench_report import Report, add_arguments

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "../shared/datasets"
TARGET_MINUTES = 4.0  # issue 18: compare gray mean-ab default on 400 photos, both resolutions, with fd_efflite0


def photo_folder(folder: Path, n_photos: int, bsds: Path, extra: Path) -> Path:
    """BSDS500 val first, then the ImageNet sample, as symlinks: `n_photos` files in one folder."""
    from colorize.images import find_images

    files = (find_images(bsds) + find_images(extra))[:n_photos]
    for i, path in enumerate(files):
        (folder / f"{i:04d}_{path.name}").symlink_to(path.resolve())
    return folder


class Clock:
    """Wall and CPU seconds of a block, added up under a name."""

    def __init__(self):
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def time(self, name: str, fn, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.wall[name] += time.perf_counter() - wall
        self.cpu[name] += time.process_time() - cpu
        return out


def bench_stages(folder: Path, n_photos: int, size: int) -> list[list]:
    """Per-photo cost of each step of the evaluation loop, on its own, for the models of the compare section."""
    from colorize import evaluate as ev
    from colorize import metrics
    from colorize.images import load_image
    from colorize.model_specs import load_models

    colorizers, _ = load_models(["gray", "mean-ab", "default"])
    backend = metrics.EfficientNetLite0Features()
    paths = ev.scan_photos(folder, n_photos).paths
    clock = Clock()
    # Warm-up: first calls pay for lazy imports, tables and oneDNN kernel selection.
    warm = ev.gray_inputs([ev.protocol_reference(load_image(paths[0]).rgb, str(size))])
    for c in colorizers:
        ev.colorize_arrays(c, warm)
    backend(warm)
    decoded = [clock.time("decode", lambda p: load_image(p).rgb, p) for p in paths]
    for protocol in ev.protocol_names(size, True):
        refs = [clock.time("reference", lambda r: metrics.Reference(ev.protocol_reference(r, protocol)), r)
                for r in decoded]
        grays = clock.time("gray input", ev.gray_inputs, [r.rgb for r in refs])
        for c in colorizers:
            preds = clock.time(f"colorize {c.name}", ev.colorize_arrays, c, grays)
            for pred, ref in zip(preds, refs):
                pair = metrics.ImagePair(pred, ref)
                for name, metric in metrics.PER_IMAGE_METRICS.items():
                    clock.time(f"metric {name}", metric.per_image, pair)
        clock.time("features (real + 3 models)", backend, [r.rgb for r in refs] * 4)
    per_photo = len(paths)
    print(f"stages, {len(paths)} photos, {size}x{size} + full resolution, ms per photo (both resolutions; metrics "
          "summed over the 3 models; ciede2000 pays for the Lab that the cast reuses, and the first model for the "
          "real photo's Lab and SSIM moments):")
    rows = [[name, round(clock.wall[name] / per_photo * 1000, 1), round(clock.cpu[name] / per_photo * 1000, 1)]
            for name in clock.wall]
    total_cpu = sum(clock.cpu.values())
    rows = [[*row, f"{clock.cpu[row[0]] / total_cpu * 100:.0f} %"] for row in rows]
    rows.append(["total", round(sum(clock.wall.values()) / per_photo * 1000, 1), round(total_cpu / per_photo * 1000, 1),
                 "100 %"])
    print("| stage | wall ms | CPU ms | share of CPU |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    return rows


def bench_compare(folder: Path, size: int, out: Path) -> list:
    from colorize.evaluate import CompareConfig, run_compare

    wall, cpu = time.perf_counter(), time.process_time()
    result = run_compare(CompareConfig(models=("gray", "mean-ab", "default"), data=folder, out=out, size=size,
                                       full_resolution=True, progress=False), log=lambda *_: None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(result.photos.paths)
    print(f"compare gray mean-ab default, {n} photos, {size}x{size} + full resolution + fd_efflite0: "
          f"{wall:.1f} s wall ({wall / 60:.2f} min, {wall / n * 1000:.0f} ms/photo), {cpu:.1f} s CPU")
    skipped = len(result.photos.skipped_grayscale)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # kB on Linux
    return [f"`compare gray mean-ab default`, {size}x{size} + full resolution + fd_efflite0", n, skipped,
            round(wall / 60, 2), round(wall), round(cpu), round(wall / n * 1000), f"{rss:.1f} GB",
            "yes" if wall / 60 < TARGET_MINUTES else "no"]


def bench_mean_ab(data: Path) -> None:
    from colorize.baselines import mean_ab_stats

    t0 = time.perf_counter()
    stats = mean_ab_stats(data)
    seconds = time.perf_counter() - t0
    print(f"mean ab of {data}: a = {stats.ab[0]:.4f}, b = {stats.ab[1]:.4f} from {stats.n_photos} colour photos "
          f"({stats.n_grayscale} grayscale, {stats.n_unreadable} unreadable skipped) in {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=400, help="photos in the compare section")
    parser.add_argument("--stage-photos", type=int, default=16, help="photos in the stages section")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--no-stages", dest="stages", action="store_false", help="skip the per-stage table")
    parser.add_argument("--no-compare", dest="compare", action="store_false", help="skip the end-to-end compare")
    parser.add_argument("--bsds", type=Path, default=DATASETS / "bsds500/val")
    parser.add_argument("--extra", type=Path, default=DATASETS / "imagenet-sample/train")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "colorize-bench-evaluate")
    parser.add_argument("--mean-ab", action="store_true", help="recompute the built-in mean ab (takes minutes)")
    parser.add_argument("--mean-ab-data", type=Path, default=DATASETS / "imagenet-sample/train")
    add_arguments(parser)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    report = Report("bench_evaluate", torch.get_num_threads(), args.machine_note)
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(Path(tmp), max(args.photos, args.stage_photos), args.bsds.resolve(),
                              args.extra.resolve())
        if args.stages:
            report.table("stages", [f"stage ({args.stage_photos} photos, ms per photo, both resolutions)", "wall ms",
                                    "CPU ms", "share of CPU"], bench_stages(folder, args.stage_photos, args.size))
        if args.compare:
            limited = Path(tmp) / "compare"
            limited.mkdir()
            for link in sorted(folder.glob("*"))[: args.photos]:
                (limited / link.name).symlink_to(link.resolve())
            row = bench_compare(limited, args.size, args.out)
            report.table("compare", ["run", "photos scored", "grayscale skipped", "wall min", "wall s", "CPU s",
                                     "wall ms/photo", "peak RSS", f"under {TARGET_MINUTES:.0f} min"], [row])
    if args.mean_ab:
        bench_mean_ab(args.mean_ab_data.resolve())
    report.write(args.json)


if __name__ == "__main__":
    main()
