"""`colorize image`, `colorize folder`, `colorize export`, `colorize doctor`: run a trained model on photos.

Options are generated from the config dataclasses below; torch, onnxruntime and Pillow are imported inside the
run functions so `colorize --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class ColorizeOptions:
    """Options shared by `image` and `folder`."""

    checkpoint: Path | None = field(
        default=None,
        metadata={"help": "generator file: .safetensors, a training checkpoint .pt, or an exported .onnx; "
                          "none = the bundled default model"},
    )
    render_size: int = field(
        default=256,
        metadata={"help": "long side in pixels of the copy the network sees (multiple of 32); the output keeps "
                          "the photo's own resolution"},
    )
    backend: Literal["torch", "onnx"] | None = field(
        default=None, metadata={"help": "inference engine; none = onnx for .onnx files, else torch"}
    )
    precision: Literal["fp32", "bf16"] = field(
        default="fp32", metadata={"help": "torch backend: bf16 runs the network under bfloat16 autocast"}
    )
    saturation: float = field(default=1.0, metadata={"help": "multiply the predicted colour (a*, b*) by this"})
    batch_size: int = field(default=4, metadata={"help": "photos per forward pass"})
    threads: int = field(default=0, metadata={"help": "CPU threads for torch/onnxruntime; 0 = torch's default"})
    format: Literal["same", "png", "jpg", "webp"] = field(
        default="same", metadata={"help": "output format; same = JPEG/WebP stay, other inputs become PNG"}
    )
    quality: int = field(default=95, metadata={"help": "JPEG/WebP quality"})


@dataclass
class ImageConfig(ColorizeOptions):
    inputs: tuple[Path, ...] = ()
    output: Path | None = None
    overwrite: bool = field(default=True, metadata={"help": "replace existing output files"})


@dataclass
class FolderConfig(ColorizeOptions):
    input_dir: Path | None = None
    output_dir: Path | None = None
    overwrite: bool = field(default=False, metadata={"help": "redo photos whose output already exists"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})


@dataclass
class ExportConfig:
    onnx: Path | None = field(default=None, metadata={"help": "write the ONNX model here (required)"})
    checkpoint: Path | None = field(
        default=None, metadata={"help": "generator to export; none = the bundled default model"}
    )
    opset: int = field(default=17, metadata={"help": "ONNX opset version"})
    verify: bool = field(
        default=True, metadata={"help": "run the export with onnxruntime and compare with torch"}
    )


@dataclass
class DoctorConfig:
    checkpoint: Path | None = field(
        default=None, metadata={"help": "check this generator file instead of the bundled default"}
    )
    backend: Literal["torch", "onnx"] | None = field(default=None, metadata={"help": "backend to report"})
    threads: int = field(default=0, metadata={"help": "CPU threads; 0 = torch's default"})


def register(subparsers) -> None:
    from colorize.cli._args import add_config_command

    p = add_config_command(
        subparsers, "image", ImageConfig, run_image, skip=("inputs", "output"),
        help="colorize photos (file in, file out)",
        description="Colorize one or more photos at their own resolution. One input: -o is the output file (its "
                    "suffix picks the format) or a folder; several inputs: -o is a folder. Without -o the result "
                    "goes next to the input as NAME_color.EXT.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="image files")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="OUT", help="output file or folder")

    p = add_config_command(
        subparsers, "folder", FolderConfig, run_folder, skip=("input_dir", "output_dir"),
        help="colorize every photo under a folder (recursive, resumable)",
        description="Colorize every image under IN_DIR into OUT_DIR, mirroring the folder tree. Photos whose "
                    "output exists are skipped (so a stopped run resumes), unless --overwrite. A bad file is "
                    "reported and skipped; the exit code is 1 if any file failed.",
    )
    p.add_argument("input_dir", type=Path, metavar="IN_DIR")
    p.add_argument("output_dir", type=Path, metavar="OUT_DIR")

    add_config_command(
        subparsers, "export", ExportConfig, run_export,
        help="export a generator to ONNX",
        description="Export a generator to ONNX with dynamic batch, height and width, for onnxruntime "
                    "(`--backend onnx`, or any ONNX runtime: input l_norm = L/50-1, output ab_norm = ab/110).",
    )

    add_config_command(
        subparsers, "doctor", DoctorConfig, run_doctor,
        help="show versions, threads and which model would be used",
        description="Print the versions of colorize and its engines, the CPU threads, the backend, and which "
                    "checkpoint would be loaded (and whether it exists and loads). Exit code 1 if it does not.",
    )


def _prefer_passive_openmp() -> None:
    """Let torch's idle OpenMP threads sleep instead of spin, unless the user chose otherwise.

    On a busy machine spinning threads fight the other processes (and this process's own worker threads):
    a 256 px forward pass measured 3-5x slower with the default policy. libgomp reads the variable once, when
    torch is loaded, so this must run before the first `import torch`.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _set_threads(threads: int) -> None:
    _prefer_passive_openmp()
    import torch

    if threads < 0:
        raise ValueError(f"--threads must be >= 0, got {threads}")
    if threads:
        torch.set_num_threads(threads)


def _colorizer(config: ColorizeOptions):
    _set_threads(config.threads)  # first: it must precede the first torch import
    from colorize.infer import Colorizer

    return Colorizer(
        checkpoint=config.checkpoint,
        render_size=config.render_size,
        backend=config.backend,
        precision=config.precision,
        saturation=config.saturation,
        batch_size=config.batch_size,
    )


def _finish(report) -> int:
    print(report.summary())
    return 0 if report.ok else 1


def run_image(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.folder import colorize_files, file_jobs

    config = config_from_args(ImageConfig, args)
    jobs = file_jobs(config.inputs, config.output, config.format)
    colorizer = _colorizer(config)
    report = colorize_files(colorizer, jobs, overwrite=config.overwrite, batch_size=config.batch_size,
                            quality=config.quality)
    for source in report.done:
        print(f"{source} -> {dict(jobs)[source]}")
    return _finish(report)


def run_folder(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.folder import colorize_files, folder_jobs

    config = config_from_args(FolderConfig, args)
    jobs = folder_jobs(config.input_dir, config.output_dir, config.format)
    if not jobs:
        print(f"no images under {config.input_dir}")
        return 0
    colorizer = _colorizer(config)
    report = colorize_files(colorizer, jobs, overwrite=config.overwrite, batch_size=config.batch_size,
                            quality=config.quality, progress=config.progress)
    return _finish(report)


def run_export(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args

    config = config_from_args(ExportConfig, args)
    if config.onnx is None:
        raise ValueError("--onnx PATH is required (where to write the ONNX model)")
    _prefer_passive_openmp()
    import torch

    from colorize.infer import _default_checkpoint
    from colorize.models import load_model
    from colorize.onnx_export import OnnxGenerator, export_onnx

    checkpoint = config.checkpoint or _default_checkpoint()
    model = load_model(checkpoint)
    path = export_onnx(model, config.onnx, opset=config.opset)
    print(f"{checkpoint} -> {path} ({path.stat().st_size / 1e6:.1f} MB, dynamic batch/height/width, "
          f"size multiple {getattr(model, 'size_multiple', 32)})")
    if config.verify:
        multiple = int(getattr(model, "size_multiple", 32))
        sample = torch.rand(2, 1, multiple * max(1, 96 // multiple), multiple * max(1, 128 // multiple)) * 2 - 1
        with torch.inference_mode():
            expected = model(sample)
        got = OnnxGenerator(path)(sample)
        diff = (got - expected).abs().max().item()
        print(f"onnxruntime vs torch on a random {tuple(sample.shape)} input: max |ab diff| = {diff:.2e} "
              f"(normalised ab; x110 in Lab units)")
        if not diff < 1e-3:
            print("error: the ONNX model does not match the torch model", file=sys.stderr)
            return 1
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    import platform
    from importlib import metadata

    from colorize.cli._args import config_from_args

    config = config_from_args(DoctorConfig, args)
    _set_threads(config.threads)
    import torch

    from colorize import __version__, infer

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    print(f"colorize     {__version__}")
    print(f"python       {platform.python_version()} ({platform.machine()})")
    bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    print(f"torch        {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"native bf16 {'yes' if bf16 else 'no'})")
    print(f"onnxruntime  {version('onnxruntime')}")
    print(f"Pillow       {version('pillow')}")
    print(f"kornia       {version('kornia')}")
    print(f"numpy        {version('numpy')}")
    print(f"threads      torch {torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op "
          f"(CPUs visible: {len(_cpus())}); OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    checkpoint = config.checkpoint or Path(infer.DEFAULT_CHECKPOINT)
    is_onnx = checkpoint.suffix.lower() == ".onnx"
    backend = config.backend or ("onnx" if is_onnx else "torch")
    print(f"backend      {backend}")
    source = "given" if config.checkpoint else "bundled default"
    exists = checkpoint.is_file()
    print(f"checkpoint   {checkpoint} ({source}; {'exists' if exists else 'MISSING'})")
    if not exists:
        if not config.checkpoint:
            print("             train one with `colorize train` and pass --checkpoint RUN_DIR/generator.safetensors")
        return 1
    try:
        colorizer = infer.Colorizer(checkpoint=checkpoint, backend=backend)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"model        cannot be loaded: {exc}")
        return 1
    info = colorizer.describe()
    print(f"model        {info['arch']} (size multiple {info['size_multiple']}), loads fine; "
          f"render size {info['render_size']}")
    return 0


def _cpus() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # not on Linux
        return set(range(os.cpu_count() or 1))
