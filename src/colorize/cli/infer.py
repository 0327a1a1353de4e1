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
from typing import TYPE_CHECKING, Literal

from colorize.cli._args import prefer_passive_openmp
from colorize.inference_options import InferenceOptions

if TYPE_CHECKING:
    from colorize.hints import Hint


@dataclass
class OutputOptions:
    """Options shared by `image` and `folder` besides the inference ones."""

    inference: InferenceOptions = field(default_factory=InferenceOptions)
    format: Literal["same", "png", "jpg", "webp"] = field(
        default="same", metadata={"help": "output format; same = JPEG/WebP stay, other inputs become PNG"}
    )
    quality: int = field(default=95, metadata={"help": "JPEG/WebP quality"})


@dataclass
class ImageConfig(OutputOptions):
    inputs: tuple[Path, ...] = ()
    output: Path | None = None
    overwrite: bool = field(default=True, metadata={"help": "replace existing output files"})
    hint: tuple[str, ...] = field(default=(), metadata={
        "help": "a colour hint X,Y,#RRGGBB[,RADIUS] (pixels of the photo as displayed); repeat for more; one "
                "input photo"})
    hints_file: Path | None = field(default=None, metadata={
        "help": 'colour hints from a JSON file: [{"x": 120, "y": 80, "color": "#c03020", "radius": 4}, ...]'})

    def hints(self) -> list[Hint] | None:
        """The --hint and --hints-file hints as `Hint`s; None when neither was given."""
        from colorize.hints import parse_hint, read_hints_file

        if not self.hint and self.hints_file is None:
            return None
        hints = [parse_hint(text) for text in self.hint]
        if self.hints_file is not None:
            hints += read_hints_file(self.hints_file)
        if len(self.inputs) != 1:
            raise ValueError(f"hints belong to one photo: give one input, not {len(self.inputs)}")
        return hints


@dataclass
class FolderConfig(OutputOptions):
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
    """`colorize doctor` checks the Colorizer that these options would build."""

    inference: InferenceOptions = field(default_factory=InferenceOptions)


def register(subparsers) -> None:
    from colorize.cli._args import add_config_command

    p = add_config_command(
        subparsers, "image", ImageConfig, run_image, skip=("inputs", "output", "hint"),
        help="colorize photos (file in, file out)",
        description="Colorize one or more photos at their own resolution. One input: -o is the output file (its "
                    "suffix picks the format) or a folder; several inputs: -o is a folder. Without -o the result "
                    "goes next to the input as NAME_color.EXT.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="image files")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="OUT", help="output file or folder")
    p.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,RADIUS]",
                   help=_field_help(ImageConfig, "hint"))

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


def _colorizer(options: InferenceOptions):
    prefer_passive_openmp()  # first: it must precede the first torch import
    from colorize.infer import Colorizer

    return Colorizer.from_options(options)


def _finish(report) -> int:
    print(report.summary())
    return 0 if report.ok else 1


def run_image(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.folder import colorize_files, file_jobs

    config = config_from_args(ImageConfig, args)
    jobs = file_jobs(config.inputs, config.output, config.format)
    hints = config.hints()  # bad hints fail here, before the model loads
    colorizer = _colorizer(config.inference)
    if hints is not None:
        return _run_hinted(colorizer, jobs[0], hints, config)
    report = colorize_files(colorizer, jobs, overwrite=config.overwrite, quality=config.quality)
    for source in report.done:
        print(f"{source} -> {dict(jobs)[source]}")
    return _finish(report)


def _run_hinted(colorizer, job: tuple[Path, Path], hints: list[Hint], config: ImageConfig) -> int:
    """One photo with hints; a hint the model or the photo cannot take is an error and writes nothing."""
    from colorize.folder import save_result

    source, target = job
    if target.exists() and not config.overwrite:
        print(f"{target} exists; skipped (pass --overwrite to replace it)")
        return 0
    result = colorizer.colorize(source, hints=hints)
    save_result(result, target, quality=config.quality)
    print(f"{source} -> {target} ({len(hints)} colour hint{'s' if len(hints) != 1 else ''})")
    return 0


def _field_help(config_cls: type, name: str) -> str:
    from dataclasses import fields

    return next(f.metadata["help"] for f in fields(config_cls) if f.name == name)


def run_folder(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args
    from colorize.folder import colorize_files, folder_jobs

    config = config_from_args(FolderConfig, args)
    jobs = folder_jobs(config.input_dir, config.output_dir, config.format)
    if not jobs:
        print(f"no images under {config.input_dir}")
        return 0
    colorizer = _colorizer(config.inference)
    report = colorize_files(colorizer, jobs, overwrite=config.overwrite, quality=config.quality,
                            progress=config.progress)
    return _finish(report)


def run_export(args: argparse.Namespace) -> int:
    from colorize.cli._args import config_from_args

    config = config_from_args(ExportConfig, args)
    if config.onnx is None:
        raise ValueError("--onnx PATH is required (where to write the ONNX model)")
    prefer_passive_openmp()
    import torch

    from colorize.infer import resolve_checkpoint
    from colorize.models import load_model
    from colorize.onnx_export import OnnxGenerator, export_onnx

    checkpoint = resolve_checkpoint(config.checkpoint)
    model = load_model(checkpoint)
    path = export_onnx(model, config.onnx, opset=config.opset)
    print(f"{checkpoint} -> {path} ({path.stat().st_size / 1e6:.1f} MB, dynamic batch/height/width, "
          f"size multiple {getattr(model, 'size_multiple', 32)}{', hint input' if model.takes_hints else ''})")
    if config.verify:
        multiple = int(getattr(model, "size_multiple", 32))
        sample = torch.rand(2, 1, multiple * max(1, 96 // multiple), multiple * max(1, 128 // multiple)) * 2 - 1
        inputs = [sample]
        if model.takes_hints:  # a few random hint squares, so the hint input is checked too
            hints = torch.zeros(2, 3, *sample.shape[-2:])
            hints[:, :2, 8:24, 8:24] = torch.rand(2, 2, 1, 1) - 0.5
            hints[:, 2, 8:24, 8:24] = 1.0
            inputs.append(hints)
        with torch.inference_mode():
            expected = model(*inputs)
        got = OnnxGenerator(path)(*inputs)
        diff = (got - expected).abs().max().item()
        print(f"onnxruntime vs torch on a random {tuple(sample.shape)} input{' with hints' if len(inputs) > 1 else ''}"
              f": max |ab diff| = {diff:.2e} (normalised ab; x110 in Lab units)")
        if not diff < 1e-3:
            print("error: the ONNX model does not match the torch model", file=sys.stderr)
            return 1
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    import platform
    from importlib import metadata

    from colorize.cli._args import config_from_args

    config = config_from_args(DoctorConfig, args)
    prefer_passive_openmp()
    import numpy as np
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
    source = "given" if config.inference.checkpoint else "bundled default"
    try:
        checkpoint = infer.resolve_checkpoint(config.inference.checkpoint)
    except FileNotFoundError as exc:
        print(f"checkpoint   MISSING ({source}): {exc}")
        return 1
    print(f"checkpoint   {checkpoint} ({source}; exists)")
    try:
        colorizer = infer.Colorizer.from_options(config.inference)
        colorizer.colorize(np.zeros((32, 32), np.uint8))  # builds the engine: exports to ONNX for "auto"
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"model        cannot be loaded or run: {exc}")
        return 1
    info = colorizer.describe()
    print(f"threads      torch {torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op "
          f"(CPUs visible: {len(_cpus())}); OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    print(f"backend      {info['backend']} (asked: {config.inference.backend}, precision {info['precision']})")
    print(f"model        {info['arch']} (size multiple {info['size_multiple']}), loads and runs; "
          f"render size {info['render_size']}")
    return 0


def _cpus() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # not on Linux
        return set(range(os.cpu_count() or 1))
