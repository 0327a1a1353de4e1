"""End-to-end inference speed and memory: decode -> Lab -> network -> full-resolution RGB -> encode.

    python benchmarks/infer.py                          # all backends, 256 px, 12 MP, a folder of 100 photos
    python benchmarks/infer.py --backends torch-fp32 --folder-photos 20

Per backend (auto, the default: onnxruntime on a graph exported on first use; torch fp32; torch bf16 autocast;
onnxruntime asked for explicitly) it prints, each measured in a fresh subprocess so the
peak RSS belongs to that scenario alone:
  - latency of one 256 px photo (JPEG bytes in, JPEG file out), median of --repeats-small runs after a warm-up,
    and that first call alone (it builds the engine: for auto, the ONNX export, or reading it from the cache);
  - latency of one 12 MP (4000x3000) colour photo and of a 12 MP gray scan, median of --repeats-large runs;
  - images/s over a folder of 100 photos (`colorize folder`'s code path, batch 4, JPEG out);
  - peak RSS of the process (resource.getrusage), which includes the interpreter, torch and the model.
Subprocesses run with OMP_WAIT_POLICY=PASSIVE, as `colorize image/folder` do; one extra torch-fp32 row uses
OpenMP's default busy-waiting, for comparison. Plus a stage breakdown of the 12 MP run (default backend). The
subprocesses share one fresh ONNX cache folder, so the first auto row pays the export.
The generator is the efficientnet_lite0 encoder U-Net:
src/colorize/weights/default.safetensors when it exists, else a randomly initialised one (timing does not depend
on the weights). Photos come from --data (BSDS500 val by default, relative to the repository root).

The machine is shared: the load average is printed before and after, and numbers can move by 2x with it.

`--json PATH` also writes a benchmark report (`benchmarks/bench_report.py`) with the tables "speed" (the row per
backend), "targets" (the default backend against the issue's targets) and "stages" (the 12 MP breakdown), which
`scripts/doc_tables.py` renders into README.md:

    python benchmarks/infer.py --threads 1 --skip-spin-row --json docs/reports/infer.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_report import Report, add_arguments

REPO = Path(__file__).resolve().parents[1]
BACKENDS = {"auto": ("auto", "fp32"), "torch-fp32": ("torch", "fp32"), "torch-bf16": ("torch", "bf16"),
            "onnxruntime": ("onnx", "fp32")}
TARGETS_MS = {"256px": 40.0, "12mp_colour": 1000.0}
TARGET_RSS_MB = 2048
LABELS = {"auto": "**auto (default)**", "torch-fp32": "torch fp32", "torch-bf16": "torch bf16 autocast",
          "onnxruntime": "onnx (asked for)", "torch-fp32 spin": "torch fp32, OpenMP spinning"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _build_colorizer(backend: str, precision: str, render_size: int):
    from colorize.infer import Colorizer, resolve_checkpoint

    try:
        resolve_checkpoint()
        return Colorizer(render_size=render_size, backend=backend, precision=precision), "bundled default"
    except FileNotFoundError:
        pass
    from colorize.models import build_generator

    model = build_generator("efficientnet_lite0", pretrained=False)
    return Colorizer(model=model, render_size=render_size, backend=backend, precision=precision), "random init"


def _photo_paths(data: Path, count: int) -> list[Path]:
    from colorize.images import find_images

    paths = find_images(data)
    if len(paths) < 1:
        raise SystemExit(f"no photos under {data}")
    return [paths[i % len(paths)] for i in range(count)]


def _jpeg_bytes(image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _test_inputs(data: Path) -> dict[str, bytes]:
    """A 256 px photo, a 12 MP colour photo and a 12 MP gray scan, as JPEG bytes (made from one real photo)."""
    from PIL import Image

    photo = Image.open(_photo_paths(data, 1)[0]).convert("RGB")
    scale = 256 / max(photo.size)
    small = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.BICUBIC)
    large = photo.resize((4000, 3000), Image.BICUBIC)
    return {"256px": _jpeg_bytes(small), "12mp_colour": _jpeg_bytes(large),
            "12mp_gray": _jpeg_bytes(large.convert("L"))}


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process) over `repeats` runs after one warm-up run."""
    _first_ms.append(_timed_ms(fn))  # warm-up: engine, oneDNN / onnxruntime caches, lookup tables, thread pools
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


_first_ms: list[float] = []


def _timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run_latency(args) -> dict:
    from colorize.folder import save_result
    from colorize.images import load_image

    backend, precision = BACKENDS[args.backend]
    colorizer, source = _build_colorizer(backend, precision, args.render_size)
    inputs = _test_inputs(args.data)
    out_dir = Path(tempfile.mkdtemp(prefix="colorize-bench-"))

    def end_to_end(data: bytes) -> None:
        result = colorizer.colorize(load_image(data))
        save_result(result, out_dir / "out.jpg")

    result = {"model": f"{colorizer.arch} ({source})"}
    for key in args.sizes:
        repeats = args.repeats_small if key == "256px" else args.repeats_large
        result[key], result[f"{key}_cpu"] = _median_ms(lambda: end_to_end(inputs[key]), repeats)
    result["first_call"] = _first_ms[0]
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def run_stages(args) -> dict:
    """Where the time of a 12 MP photo goes (default backend): the steps of `Colorizer.colorize`, one by one."""
    import numpy as np
    import torch
    from PIL import Image

    from colorize import png
    from colorize.fullres import compose_planes
    from colorize.images import load_image

    colorizer, _ = _build_colorizer("auto", "fp32", args.render_size)
    data = _test_inputs(args.data)[args.stage_input]
    loaded = load_image(data)
    net_in, (top, left, h, w) = colorizer.network_input(loaded)
    ab = colorizer.run_network(net_in)[0, :, top : top + h, left : left + w] * 110.0
    planes = [np.asarray(channel) for channel in loaded.rgb.split()]
    out = compose_planes(planes, ab)
    size = loaded.rgb.size

    def merge() -> Image.Image:
        return Image.merge("RGB", [Image.frombuffer("L", size, plane, "raw", "L", 0, 1) for plane in out])

    image = merge()
    stages = {
        "decode (load_image)": lambda: load_image(data),
        "split into R, G, B planes": lambda: [np.asarray(channel) for channel in loaded.rgb.split()],
        "resize + Lab at render size": lambda: colorizer.network_input(loaded),
        f"network forward ({colorizer.backend})": lambda: colorizer.run_network(net_in),
        "full-res L + ab -> RGB": lambda: compose_planes(planes, ab),
        "merge planes into an image": merge,
        "encode JPEG q95": lambda: image.save(io.BytesIO(), format="JPEG", quality=95),
        "encode PNG (Pillow, level 1)": lambda: image.save(io.BytesIO(), format="PNG", compress_level=1),
        "encode PNG (colorize.png, as saved)": lambda: png.write_png(image, io.BytesIO()),
    }
    result = {name: _median_ms(fn, args.repeats_large) for name, fn in stages.items()}
    result["torch threads"] = torch.get_num_threads()
    return result


def run_folder(args) -> dict:
    from colorize.folder import colorize_files

    backend, precision = BACKENDS[args.backend]
    colorizer, _ = _build_colorizer(backend, precision, args.render_size)
    photos = _photo_paths(args.data, args.folder_photos)
    out_dir = Path(tempfile.mkdtemp(prefix="colorize-bench-folder-"))
    warm = colorize_files(colorizer, [(photos[0], out_dir / "warmup.jpg")])
    assert warm.ok, warm.summary()
    jobs = [(p, out_dir / f"{i:04d}.jpg") for i, p in enumerate(photos)]
    start = time.perf_counter()
    report = colorize_files(colorizer, jobs, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    return {"images_per_s": len(report.done) / seconds, "failed": len(report.failed),
            "peak_rss_mb": _peak_rss_mb(), "photos": len(photos)}


def _subprocess(section: str, args, omp_passive: bool = True, **extra) -> dict:
    cmd = [sys.executable, __file__, "--section", section, "--data", str(args.data), "--render-size",
           str(args.render_size), "--repeats-small", str(args.repeats_small), "--repeats-large",
           str(args.repeats_large), "--folder-photos", str(args.folder_photos), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads)]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", *([str(v) for v in value] if isinstance(value, list) else [str(value)])]
    env = dict(os.environ, COLORIZE_CACHE_DIR=args.cache_dir)
    if omp_passive:
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # what `colorize image/folder` use
    else:
        env.pop("OMP_WAIT_POLICY", None)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{section} {extra} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO / "../shared/datasets/bsds500/val")
    parser.add_argument("--backends", nargs="+", choices=list(BACKENDS), default=list(BACKENDS))
    parser.add_argument("--render-size", type=int, default=256)
    parser.add_argument("--repeats-small", type=int, default=20)
    parser.add_argument("--repeats-large", type=int, default=5)
    parser.add_argument("--folder-photos", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="torch/onnxruntime threads; 0 = torch default")
    parser.add_argument("--skip-spin-row", action="store_true", help="skip the torch-fp32 row with OpenMP spinning")
    add_arguments(parser)
    parser.add_argument("--section", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="torch-fp32", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["256px", "12mp_colour", "12mp_gray"], help=argparse.SUPPRESS)
    parser.add_argument("--stage-input", default="12mp_colour", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = args.data.resolve()
    args.cache_dir = os.environ.get("COLORIZE_CACHE_DIR") if args.section else tempfile.mkdtemp(prefix="onnx-cache-")

    if args.section:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        runner = {"latency": run_latency, "stages": run_stages, "folder": run_folder}[args.section]
        print(json.dumps(runner(args)))
        return

    import torch

    threads = args.threads or torch.get_num_threads()
    report = Report("infer", threads, args.machine_note)
    print(f"colorize inference benchmark: torch {torch.__version__}, threads {threads}, "
          f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.1f} (shared machine)")
    print(f"photos: {args.data}; render size {args.render_size}; JPEG q95 out\n")

    rows = [(name, True) for name in args.backends]
    if "torch-fp32" in args.backends and not args.skip_spin_row:
        rows.append(("torch-fp32", False))
    latency, folder = {}, {}
    for name, passive in rows:
        label = name if passive else f"{name} spin"
        # 256 px and the 12 MP photos in separate processes, so each peak RSS is that scenario's own.
        small = _subprocess("latency", args, omp_passive=passive, backend=name, sizes=["256px"])
        large = _subprocess("latency", args, omp_passive=passive, backend=name, sizes=["12mp_colour", "12mp_gray"])
        latency[label] = {**small, **{k: v for k, v in large.items() if k not in ("peak_rss_mb", "first_call")},
                          "rss_256": small["peak_rss_mb"], "rss_12mp": large["peak_rss_mb"]}
        folder[label] = _subprocess("folder", args, omp_passive=passive, backend=name)
        print(f"  measured {label}", flush=True)
    model = next(iter(latency.values()))["model"]
    print(f"\nmodel: {model}\n")

    ref, ref_folder = latency.get("torch-fp32"), folder.get("torch-fp32")
    header = (f"{'backend':<16} {'256px ms':>9} {'(cpu)':>6} {'vs fp32':>8} {'1st call':>9} {'12MP colour ms':>15} "
              f"{'(cpu)':>6} "
              f"{'vs fp32':>8} {'12MP gray ms':>13} {'folder img/s':>13} {'vs fp32':>8} {'RSS 256px':>10} "
              f"{'RSS 12MP':>9}")
    print(header)
    print("-" * len(header))
    for label, row in latency.items():
        fold = folder[label]
        print(f"{label:<16} {row['256px']:>9.1f} {row['256px_cpu']:>6.0f} "
              f"{_ratio(row['256px'], ref['256px']) if ref else '-':>8} {row['first_call']:>9.0f} "
              f"{row['12mp_colour']:>15.0f} {row['12mp_colour_cpu']:>6.0f} "
              f"{_ratio(row['12mp_colour'], ref['12mp_colour']) if ref else '-':>8} "
              f"{row['12mp_gray']:>13.0f} {fold['images_per_s']:>13.1f} "
              f"{_ratio(fold['images_per_s'], ref_folder['images_per_s']) if ref_folder else '-':>8} "
              f"{row['rss_256']:>8.0f}MB {row['rss_12mp']:>7.0f}MB")
    print("\nwall-clock medians; (cpu) = CPU time of the process, both cores together. 'vs fp32' = time (folder: "
          "img/s) relative to torch-fp32. Rows run with OMP_WAIT_POLICY=PASSIVE, as `colorize image/folder` set "
          "it; 'spin' = OpenMP's default busy-waiting. '1st call' = the warm-up 256 px call, which builds the "
          "engine (auto: exports the ONNX graph, or reads it from the cache).")
    print(f"targets: 256 px < {TARGETS_MS['256px']:.0f} ms, 12 MP < {TARGETS_MS['12mp_colour']:.0f} ms, "
          f"peak RSS for 12 MP < {TARGET_RSS_MB} MB.")
    report.table("speed", ["backend", "256 px ms", "256 px CPU ms", "256 px vs fp32", "first call ms",
                           "12 MP colour ms", "12 MP CPU ms", "12 MP vs fp32", "12 MP gray ms", "folder photos/s",
                           "folder vs fp32", "peak RSS 256 px / 12 MP"],
                 [speed_row(label, row, folder[label], ref, ref_folder) for label, row in latency.items()])
    first = rows[0][0]
    report.table("targets", ["target", LABELS.get(first, first).strip("*"), "met"], target_rows(latency[first]))
    print(f"folder: {folder[rows[0][0]]['photos']} photos from {args.data.name}, batch {args.batch_size}, "
          "decode + colorize + JPEG write per photo")

    stages = _subprocess("stages", args)
    print(f"\n12 MP colour photo, default backend, stage medians ({stages.pop('torch threads')} torch threads):")
    for name, (ms, cpu_ms) in stages.items():
        print(f"  {name:<34} {ms:8.1f} ms  (cpu {cpu_ms:6.1f} ms)")
    report.table("stages", ["stage of a 12 MP colour photo (default backend)", "ms", "CPU ms"],
                 [[name, round(ms), round(cpu_ms)] for name, (ms, cpu_ms) in stages.items()])
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    report.write(args.json)


def speed_row(label: str, row: dict, fold: dict, ref: dict | None, ref_folder: dict | None) -> list:
    """One backend's row of the report's "speed" table (times in ms, rounded as printed)."""

    def vs(key: str, reference: dict | None, value: dict) -> str | None:
        return _ratio(value[key], reference[key]) if reference and reference is not value else None

    return [LABELS.get(label, label), round(row["256px"], 1), round(row["256px_cpu"]), vs("256px", ref, row),
            round(row["first_call"]), round(row["12mp_colour"]), round(row["12mp_colour_cpu"]),
            vs("12mp_colour", ref, row), round(row["12mp_gray"]), round(fold["images_per_s"], 1),
            vs("images_per_s", ref_folder, fold), f"{row['rss_256']:.0f} / {row['rss_12mp']:.0f} MB"]


def target_rows(row: dict) -> list[list]:
    """The issue's targets against one backend's measurements (the first row: `auto` unless --backends says)."""
    checks = [(f"256 px photo end to end < {TARGETS_MS['256px']:.0f} ms", row["256px"], TARGETS_MS["256px"], "ms"),
              (f"12 MP colour photo end to end < {TARGETS_MS['12mp_colour'] / 1000:.0f} s", row["12mp_colour"],
               TARGETS_MS["12mp_colour"], "ms"),
              (f"peak RSS with a 12 MP photo < {TARGET_RSS_MB / 1024:.0f} GB", row["rss_12mp"], TARGET_RSS_MB, "MB")]
    return [[name, f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}", "yes" if value < limit else "no"]
            for name, value, limit, unit in checks]


if __name__ == "__main__":
    main()
