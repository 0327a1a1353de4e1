"""End-to-end inference speed and memory: decode -> Lab -> network -> full-resolution RGB -> encode.

    python benchmarks/infer.py                          # all backends, 256 px, 12 MP, a folder of 100 photos
    python benchmarks/infer.py --backends torch-fp32 --folder-photos 20

Per backend (torch fp32, torch bf16 autocast, onnxruntime) it prints, each measured in a fresh subprocess so the
peak RSS belongs to that scenario alone:
  - latency of one 256 px photo (JPEG bytes in, JPEG file out), median of --repeats-small runs after a warm-up;
  - latency of one 12 MP (4000x3000) colour photo and of a 12 MP gray scan, median of --repeats-large runs;
  - images/s over a folder of 100 photos (`colorize folder`'s code path, batch 4, JPEG out);
  - peak RSS of the process (resource.getrusage), which includes the interpreter, torch and the model.
Plus a stage breakdown of the 12 MP run (torch fp32). The generator is the efficientnet_lite0 encoder U-Net:
src/colorize/weights/default.safetensors when it exists, else a randomly initialised one (timing does not depend
on the weights). Photos come from --data (BSDS500 val by default, relative to the repository root).

The machine is shared: the load average is printed before and after, and numbers can move by 2x with it.
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

REPO = Path(__file__).resolve().parents[1]
BACKENDS = {"torch-fp32": ("torch", "fp32"), "torch-bf16": ("torch", "bf16"), "onnxruntime": ("onnx", "fp32")}
TARGETS_MS = {"256px": 40.0, "12mp_colour": 1000.0}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _build_colorizer(backend: str, precision: str, render_size: int):
    from colorize import infer
    from colorize.infer import Colorizer

    if Path(infer.DEFAULT_CHECKPOINT).is_file():
        return Colorizer(render_size=render_size, backend=backend, precision=precision), "bundled default"
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
    return {"256px": _jpeg_bytes(small), "12mp_colour": _jpeg_bytes(large), "12mp_gray": _jpeg_bytes(large.convert("L"))}


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN / onnxruntime caches, lookup tables, thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


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
        result[key] = _median_ms(lambda: end_to_end(inputs[key]), repeats)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def run_stages(args) -> dict:
    """Where the time of a 12 MP photo goes (torch fp32), median of the repeats for each stage."""
    import torch

    from colorize.fullres import compose_full_resolution
    from colorize.images import load_image

    colorizer, _ = _build_colorizer("torch", "fp32", args.render_size)
    data = _test_inputs(args.data)[args.stage_input]
    loaded = load_image(data)
    net_in, (top, left, h, w) = colorizer._network_input(loaded)
    ab_norm = colorizer._forward(net_in)
    ab = ab_norm[0, :, top : top + h, left : left + w] * 110.0
    rgb = loaded.rgb_array()
    out = compose_full_resolution(rgb, ab)
    from PIL import Image

    image = Image.fromarray(out)
    stages = {
        "decode (load_image)": lambda: load_image(data),
        "to array (rgb_array)": lambda: loaded.rgb_array(),
        "resize + Lab at render size": lambda: colorizer._network_input(loaded),
        "network forward": lambda: colorizer._forward(net_in),
        "full-res L + ab -> RGB": lambda: compose_full_resolution(rgb, ab),
        "to PIL (fromarray)": lambda: Image.fromarray(out),
        "encode JPEG q95": lambda: image.save(io.BytesIO(), format="JPEG", quality=95),
        "encode PNG (level 1)": lambda: image.save(io.BytesIO(), format="PNG", compress_level=1),
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


def _subprocess(section: str, args, **extra) -> dict:
    cmd = [sys.executable, __file__, "--section", section, "--data", str(args.data), "--render-size",
           str(args.render_size), "--repeats-small", str(args.repeats_small), "--repeats-large",
           str(args.repeats_large), "--folder-photos", str(args.folder_photos), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads)]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", *([str(v) for v in value] if isinstance(value, list) else [str(value)])]
    done = subprocess.run(cmd, capture_output=True, text=True)
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
    parser.add_argument("--section", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="torch-fp32", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["256px", "12mp_colour", "12mp_gray"], help=argparse.SUPPRESS)
    parser.add_argument("--stage-input", default="12mp_colour", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = args.data.resolve()

    if args.section:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        runner = {"latency": run_latency, "stages": run_stages, "folder": run_folder}[args.section]
        print(json.dumps(runner(args)))
        return

    import torch

    print(f"colorize inference benchmark: torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.1f} (shared machine)")
    print(f"photos: {args.data}; render size {args.render_size}; JPEG q95 out\n")

    latency, folder = {}, {}
    for name in args.backends:
        # 256 px and the 12 MP photos in separate processes, so each peak RSS is that scenario's own.
        small = _subprocess("latency", args, backend=name, sizes=["256px"])
        large = _subprocess("latency", args, backend=name, sizes=["12mp_colour", "12mp_gray"])
        latency[name] = {**small, **{k: v for k, v in large.items() if k != "peak_rss_mb"},
                         "rss_256": small["peak_rss_mb"], "rss_12mp": large["peak_rss_mb"]}
        folder[name] = _subprocess("folder", args, backend=name)
    model = next(iter(latency.values()))["model"]
    print(f"model: {model}\n")

    ref = latency.get("torch-fp32")
    header = (f"{'backend':<12} {'256 px ms':>10} {'vs fp32':>8} {'12 MP colour ms':>16} {'vs fp32':>8} "
              f"{'12 MP gray ms':>14} {'folder img/s':>13} {'vs fp32':>8} {'RSS 256px MB':>13} {'RSS 12MP MB':>12}")
    print(header)
    print("-" * len(header))
    for name, row in latency.items():
        fold = folder[name]
        print(f"{name:<12} {row['256px']:>10.1f} {_ratio(row['256px'], ref['256px']) if ref else '-':>8} "
              f"{row['12mp_colour']:>16.0f} {_ratio(row['12mp_colour'], ref['12mp_colour']) if ref else '-':>8} "
              f"{row['12mp_gray']:>14.0f} {fold['images_per_s']:>13.1f} "
              f"{_ratio(fold['images_per_s'], folder['torch-fp32']['images_per_s']) if ref else '-':>8} "
              f"{row['rss_256']:>13.0f} {row['rss_12mp']:>12.0f}")
    print(f"\ntargets: 256 px < {TARGETS_MS['256px']:.0f} ms, 12 MP < {TARGETS_MS['12mp_colour']:.0f} ms, "
          f"peak RSS for 12 MP < 2048 MB. 'vs fp32' is time (or img/s) relative to torch fp32.")
    print(f"folder: {folder[args.backends[0]]['photos']} photos from {args.data.name}, batch {args.batch_size}, "
          "decode + colorize + JPEG write per photo")

    stages = _subprocess("stages", args)
    print(f"\n12 MP colour photo, torch fp32, stage medians ({stages.pop('torch threads')} torch threads):")
    for name, ms in stages.items():
        print(f"  {name:<30} {ms:8.1f} ms")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
