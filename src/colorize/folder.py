"""Colorizing files: output names and formats, metadata-preserving atomic saves, and whole folder runs.

A folder run mirrors the input tree, skips photos whose output already exists (so an interrupted run resumes
where it stopped), and never lets one bad file stop the others: every file ends up done, skipped or failed
with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from colorize import png
from colorize.images import ImageError, find_images, load_image

#: --format choices -> Pillow format; "same" keeps the input's format where we can write it.
OUTPUT_FORMATS = ("same", "png", "jpg", "webp")
_FORMAT_OF_SUFFIX = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SUFFIX_OF_FORMAT = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


#: The most EXIF a JPEG APP1 segment can carry (64 KB minus its header).
MAX_JPEG_EXIF_BYTES = 65_533


def output_suffix(source: Path, fmt: str) -> str:
    """The output file's suffix for `source`: JPEG and WebP stay as they are with "same", everything else -> PNG."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"format must be one of {OUTPUT_FORMATS}, got {fmt!r}")
    if fmt == "same":
        suffix = source.suffix.lower()
        return suffix if suffix in _FORMAT_OF_SUFFIX else ".png"
    return _SUFFIX_OF_FORMAT[fmt]


def format_of_path(path: Path) -> str:
    """Pillow format name for an output path, from its suffix; a clear error for suffixes we do not write."""
    try:
        return _FORMAT_OF_SUFFIX[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"{path}: cannot tell the output format from {path.suffix or 'no suffix'!r}; "
                         "use .png, .jpg or .webp") from None


def save_result(image: Image.Image, path: str | Path, quality: int = 95) -> Path:
    """Save a colorized image in the format its suffix names, with the EXIF/ICC the Colorizer kept in `info`.

    Written to a temporary name first and renamed, so a crash never leaves a half file that a resumed folder run
    would take for done. JPEG has no alpha channel: an RGBA result is saved without it.
    """
    path = Path(path)
    fmt = format_of_path(path)
    params: dict = {}
    if fmt == "JPEG":
        params["quality"] = quality
        image = image.convert("RGB") if image.mode != "RGB" else image
    elif fmt == "WEBP":
        params["quality"] = quality
    else:
        params["compress_level"] = 1  # modes png.py does not write: 3-4x faster than the default 6 on 12 MP
    for key in ("icc_profile", "exif"):
        if image.info.get(key):
            params[key] = image.info[key]
    if fmt == "JPEG" and len(params.get("exif", b"")) > MAX_JPEG_EXIF_BYTES:
        del params["exif"]  # one JPEG segment cannot hold it; the photo matters more than its metadata
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "PNG" and png.can_encode(image):
            with open(partial, "wb") as file:
                png.write_png(image, file)
        else:
            image.save(partial, format=fmt, **params)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


@dataclass
class RunReport:
    """What happened to every file of a run."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [f"done {len(self.done)}, skipped {len(self.skipped)} (already done), failed {len(self.failed)}"]
        lines += [f"  failed: {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (ImageError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def colorize_files(
    colorizer,
    jobs: Sequence[tuple[Path, Path]],
    *,
    overwrite: bool = False,
    batch_size: int | None = None,
    quality: int = 95,
    progress: bool = False,
    on_update: Callable[[RunReport], None] | None = None,
) -> RunReport:
    """Colorize each (input, output) pair; never raises for a single file's problem, reports it instead.

    Outputs that exist are skipped unless `overwrite`. Two inputs aiming at the same output: the second fails.
    `batch_size` (photos decoded and colorized together) and the pixel limit default to the colorizer's options.
    """
    from tqdm import tqdm

    report = RunReport()
    todo: list[tuple[Path, Path]] = []
    claimed: dict[Path, Path] = {}
    for source, target in jobs:
        if target in claimed:
            report.failed.append((source, f"its output {target} is also the output of {claimed[target]}"))
        elif target.exists() and not overwrite:
            report.skipped.append(source)
            claimed[target] = source
        else:
            todo.append((source, target))
            claimed[target] = source

    batch_size = batch_size or colorizer.options.batch_size
    max_pixels = colorizer.options.max_pixels
    batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
    with tqdm(total=len(todo), unit="photo", disable=not progress, dynamic_ncols=True) as bar, \
            ThreadPoolExecutor(1, thread_name_prefix="colorize-io") as io_thread:
        # Decoding the next batch and writing the previous one overlap with the network and the colour maths of
        # the current batch: JPEG/PNG coding runs on one core and releases the GIL.
        loading = io_thread.submit(_load_batch, batches[0], max_pixels) if batches else None
        saving: list[Future] = []

        def collect(wait: bool) -> None:
            while saving and (wait or saving[0].done()):
                done, failed = saving.pop(0).result()
                report.done.extend(done)
                report.failed.extend(failed)
                bar.update(len(done) + len(failed))
                bar.set_postfix(done=len(report.done), failed=len(report.failed), refresh=False)
                if on_update:
                    on_update(report)

        for index in range(len(batches)):
            loaded, failed = loading.result()
            if index + 1 < len(batches):
                loading = io_thread.submit(_load_batch, batches[index + 1], max_pixels)
            if failed:
                saving.append(_completed(([], failed)))
            results = _colorize_loaded(colorizer, loaded)
            saving.append(io_thread.submit(_save_batch, results, quality))
            collect(wait=False)
        collect(wait=True)
    return report


def _completed(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _load_batch(batch: Sequence[tuple[Path, Path]], max_pixels: int) -> tuple[list, list[tuple[Path, str]]]:
    loaded, failed = [], []
    for source, target in batch:
        try:
            loaded.append((source, target, load_image(source, max_pixels=max_pixels)))
        except Exception as exc:  # one bad file must not stop the run
            failed.append((source, _reason(exc)))
    return loaded, failed


def _colorize_loaded(colorizer, loaded: list) -> list[tuple[Path, Path, object]]:
    """(source, target, result image or the exception that stopped it)."""
    if not loaded:
        return []
    try:
        results = colorizer.colorize_batch([image for _, _, image in loaded])
    except Exception:
        # Something in the batch broke the shared pass: redo one by one so only the culprit fails.
        results = []
        for _, _, image in loaded:
            try:
                results.append(colorizer.colorize(image))
            except Exception as exc:
                results.append(exc)
    return [(source, target, result) for (source, target, _), result in zip(loaded, results)]


def _save_batch(results: list, quality: int) -> tuple[list[Path], list[tuple[Path, str]]]:
    done, failed = [], []
    for source, target, result in results:
        if isinstance(result, BaseException):
            failed.append((source, _reason(result)))
            continue
        try:
            save_result(result, target, quality=quality)
            done.append(source)
        except Exception as exc:
            failed.append((source, _reason(exc)))
    return done, failed


def folder_jobs(input_dir: str | Path, output_dir: str | Path, fmt: str = "same") -> list[tuple[Path, Path]]:
    """(input, output) for every image under `input_dir`, outputs mirroring the tree under `output_dir`.

    An output folder inside the input folder is not scanned, so a second run does not colorize its own results.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"{input_dir}: no such folder")
    in_resolved, out_resolved = input_dir.resolve(), output_dir.resolve()
    if out_resolved == in_resolved:
        raise ValueError("the output folder must differ from the input folder (outputs would replace the photos)")
    output_inside_input = in_resolved in out_resolved.parents
    jobs = []
    for source in find_images(input_dir):
        if output_inside_input and out_resolved in source.resolve().parents:
            continue
        relative = source.relative_to(input_dir)
        jobs.append((source, output_dir / relative.with_suffix(output_suffix(source, fmt))))
    return _refuse_overwriting_inputs(jobs)


def _refuse_overwriting_inputs(jobs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """The jobs, unless one would write over its own input (a photo must never be replaced by its result)."""
    for source, target in jobs:
        if source.resolve() == target.resolve():
            raise ValueError(f"{target} is the input photo itself; choose another output name or folder")
    return jobs


def file_jobs(inputs: Iterable[str | Path], output: str | Path | None, fmt: str = "same") -> list[tuple[Path, Path]]:
    """(input, output) pairs for `colorize image`.

    One input: `output` is the file to write (its suffix picks the format), or a folder (existing, or ending with
    a slash) to write into. Several inputs: `output` is a folder. No output: next to each input, as NAME_color.EXT.
    """
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise ValueError("no input images given")
    if output is None:
        return [(p, p.with_name(f"{p.stem}_color{output_suffix(p, fmt)}")) for p in inputs]
    out = Path(output)
    into_folder = len(inputs) > 1 or out.is_dir() or str(output).endswith(("/", os.sep))
    if not into_folder:
        format_of_path(out)  # fail now, before any work, on an unknown suffix
        if fmt != "same" and output_suffix(out, fmt) != out.suffix.lower().replace(".jpeg", ".jpg"):
            raise ValueError(f"--format {fmt} contradicts the output file name {out.name}")
        return _refuse_overwriting_inputs([(inputs[0], out)])
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; with several inputs the output must be a folder")
    return _refuse_overwriting_inputs([(p, out / f"{p.stem}{output_suffix(p, fmt)}") for p in inputs])
