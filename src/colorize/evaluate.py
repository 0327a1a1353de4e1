"""The evaluation protocol: colorize gray versions of held-out photos and score them against the originals.

Protocol (the same for every model and baseline, so numbers are comparable):
1. Photos are the image files under a folder (`find_images`, sorted). Unreadable files and photos that are already
   grayscale are skipped and counted: a gray photo has no colour to recover. `limit` keeps the first N usable ones.
2. Two resolutions: `"<size>"` — short side resized to `size` (bicubic), centre crop `size` x `size` (256 is the
   standard) — and `"full"` — the photo as it is.
3. The colorizer gets a gray image: the photo's CIE L*a*b lightness with a = b = 0, as RGB. It sees only L.
4. Per image: PSNR, SSIM, CIEDE2000, colourfulness; per set: their means, dCF and the Fréchet distance of
   EfficientNet-Lite0 features (`fd_efflite0`, not FID). Pairwise per-image win rates compare colorizers.
Everything is deterministic: fixed file order, no random crops, models in eval mode.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorize import metrics
from colorize.images import find_images, is_grayscale, load_image

FULL = "full"
GRID_METRICS = ("ciede2000", "psnr")
#: Per-image metrics as (key, higher is better) in report order.
WIN_RATE_METRICS = tuple(metrics.PER_IMAGE_METRICS.items())
TABLE_METRICS = ("psnr", "ssim", "ciede2000", "cf", "dcf", "fd_efflite0", "fid")
SIZE_HELP = "protocol size: short side resized to it, centre crop size x size"
MEAN_AB_HELP = "folder of training photos to compute the mean-ab baseline from; unset: the built-in mean ab"


@dataclass
class EvaluateConfig:
    checkpoint: Path | None = field(
        default=None, metadata={"help": "generator checkpoint (.safetensors or training .pt); unset: the bundled model"}
    )
    data: Path | None = field(default=None, metadata={"help": "folder of held-out colour photos (required)"})
    out: Path = field(default=Path("evaluation"), metadata={"help": "folder for report.json, report.md and grid.png"})
    size: int = field(default=256, metadata={"help": SIZE_HELP})
    full_resolution: bool = field(default=True, metadata={"help": "also evaluate at each photo's full resolution"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N usable photos (quick runs)"})
    baselines: bool = field(default=True, metadata={"help": "also score the gray and mean-ab baselines as a floor"})
    mean_ab_data: Path | None = field(default=None, metadata={"help": MEAN_AB_HELP})
    grid_by: Literal["ciede2000", "psnr"] = field(
        default="ciede2000", metadata={"help": "per-image metric that picks the best / median / worst grid rows"}
    )
    fd: bool = field(default=True, metadata={"help": "compute the EfficientNet-Lite0 Fréchet distance (fd_efflite0)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self):
        _check_common(self)


@dataclass
class CompareConfig:
    models: tuple[str, ...] = field(
        default=(), metadata={"help": "checkpoint paths or baseline names: gray, mean-ab, default (the bundled model)"}
    )
    data: Path | None = field(default=None, metadata={"help": "folder of held-out colour photos (required)"})
    out: Path = field(default=Path("comparison"), metadata={"help": "folder for report.json, report.md and grid.png"})
    size: int = field(default=256, metadata={"help": SIZE_HELP})
    full_resolution: bool = field(default=True, metadata={"help": "also evaluate at each photo's full resolution"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N usable photos (quick runs)"})
    mean_ab_data: Path | None = field(default=None, metadata={"help": MEAN_AB_HELP})
    grid_rows: int = field(default=6, metadata={"help": "photos in the side-by-side grid (evenly spaced in the files)"})
    fd: bool = field(default=True, metadata={"help": "compute the EfficientNet-Lite0 Fréchet distance (fd_efflite0)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self):
        _check_common(self)
        if not self.models:
            raise ValueError("name at least one checkpoint or baseline to compare")
        if self.grid_rows < 1:
            raise ValueError(f"grid_rows must be >= 1, got {self.grid_rows}")


def _check_common(config) -> None:
    if config.data is None:
        raise ValueError("--data is required: a folder of colour photos the models did not train on")
    if config.size < 8:
        raise ValueError(f"size must be >= 8 pixels (SSIM uses a 7x7 window), got {config.size}")
    if config.limit is not None and config.limit < 1:
        raise ValueError(f"limit must be >= 1, got {config.limit}")


# --- protocol images ---------------------------------------------------------------------------------------------


def resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    """Short side -> `size` (bicubic), then the centred `size` x `size` square."""
    scale = size / min(img.size)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    img = img.resize((w, h), Image.BICUBIC)
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """The photo's L*a*b lightness with a = b = 0, as (H, W, 3) uint8: all the colorizer is allowed to see."""
    import torch

    from colorize.lab import lab_to_rgb, rgb_to_lab, tensor_to_uint8, uint8_to_tensor

    with torch.inference_mode():
        lab = rgb_to_lab(uint8_to_tensor(np.array(rgb, dtype=np.uint8)))  # writable copy for torch
        lab[:, 1:] = 0.0
        return tensor_to_uint8(lab_to_rgb(lab))[0].numpy()


def colorize_array(colorizer, gray: np.ndarray) -> np.ndarray:
    """Run a colorizer on a gray (H, W, 3) uint8 array and check it kept the size."""
    out = colorizer.colorize(Image.fromarray(gray, mode="RGB"))
    pred = np.asarray(out.convert("RGB"), dtype=np.uint8)
    if pred.shape != gray.shape:
        raise ValueError(f"{colorizer.name}: returned a {pred.shape[1]}x{pred.shape[0]} image for a "
                         f"{gray.shape[1]}x{gray.shape[0]} input")
    return pred


@dataclass
class PhotoSet:
    """The usable photos of a folder, plus what was skipped and why."""

    root: Path
    paths: list[Path]
    skipped_grayscale: list[str]
    skipped_unreadable: list[str]

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def scan_photos(folder: str | Path, limit: int | None = None) -> PhotoSet:
    """Usable colour photos of `folder` in file order (first `limit`); grayscale and unreadable files are counted."""
    root = Path(folder)
    usable, gray, unreadable = [], [], []
    for path in find_images(root):
        if limit is not None and len(usable) >= limit:
            break
        try:
            arr = load_image(path).rgb_array()
        except ValueError as exc:
            warnings.warn(f"skipping {path.name}: {exc}", stacklevel=2)
            unreadable.append(path.relative_to(root).as_posix())
            continue
        if is_grayscale(arr):
            gray.append(path.relative_to(root).as_posix())
        else:
            usable.append(path)
    if not usable:
        raise ValueError(f"{root}: no usable colour photos (found {len(gray)} grayscale, {len(unreadable)} unreadable)")
    return PhotoSet(root, usable, gray, unreadable)


def protocol_names(size: int, full_resolution: bool) -> list[str]:
    return [str(size)] + ([FULL] if full_resolution else [])


def protocol_reference(rgb: Image.Image, protocol: str) -> np.ndarray:
    img = rgb if protocol == FULL else resize_center_crop(rgb, int(protocol))
    return np.asarray(img, dtype=np.uint8)


# --- scoring -----------------------------------------------------------------------------------------------------


def score_image(pred: np.ndarray, real: np.ndarray, real_cf: float) -> dict[str, float]:
    cf = metrics.colorfulness(pred)
    return {
        "psnr": metrics.psnr(pred, real),
        "ssim": metrics.ssim(pred, real),
        "ciede2000": metrics.ciede2000(pred, real),
        "cf": cf,
        "dcf_image": abs(cf - real_cf),
    }


def _mean(values: list[float]) -> float:
    # A mean with an infinite PSNR in it is infinite; that is the honest answer for a perfect image.
    return float(np.mean(values)) if values else math.nan


def aggregate(per_image: list[dict], names: list[str], features: dict | None) -> dict[str, dict[str, float]]:
    """Set-level metrics for each colorizer from the per-image records (and feature sets, when computed)."""
    real_cf = [rec["real_cf"] for rec in per_image]
    table = {}
    for name in names:
        rows = [rec["scores"][name] for rec in per_image]
        cf = [r["cf"] for r in rows]
        table[name] = {
            "psnr": _mean([r["psnr"] for r in rows]),
            "ssim": _mean([r["ssim"] for r in rows]),
            "ciede2000": _mean([r["ciede2000"] for r in rows]),
            "cf": _mean(cf),
            "dcf": metrics.delta_colorfulness(cf, real_cf),
        }
        for backend, sets in (features or {}).items():
            if len(per_image) < 2:
                table[name][backend] = math.nan  # a covariance needs two images
            else:
                table[name][backend] = metrics.frechet_distance_from_features(sets[name], sets["__real__"])
    return table


def win_rates(per_image: list[dict], names: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """rates[metric][a][b]: share of photos on which `a` beats `b` on that per-image metric (ties count half)."""
    rates: dict = {}
    for key, higher in WIN_RATE_METRICS:
        rates[key] = {}
        for a in names:
            rates[key][a] = {}
            for b in names:
                if a == b:
                    continue
                score = 0.0
                for rec in per_image:
                    va, vb = rec["scores"][a][key], rec["scores"][b][key]
                    if va == vb:
                        score += 0.5
                    elif (va > vb) == higher:
                        score += 1.0
                rates[key][a][b] = score / len(per_image)
    return rates


def verdict(table: dict[str, dict[str, float]], protocol: str) -> str:
    """One line: which colorizer is best on each metric that has a direction."""
    parts = []
    for key in TABLE_METRICS:
        info = metrics.METRICS[key]
        values = {n: row[key] for n, row in table.items() if key in row and not math.isnan(row[key])}
        if info.higher_is_better is None or not values:
            continue
        best = max(values.values()) if info.higher_is_better else min(values.values())
        winners = [n for n, v in values.items() if v == best]
        arrow = "↑" if info.higher_is_better else "↓"
        parts.append(f"{key}{arrow} {' = '.join(winners)} ({metrics.format_number(best, _digits(key))})")
    label = "full resolution" if protocol == FULL else f"{protocol}x{protocol}"
    return f"best at {label}: " + "; ".join(parts)


def _arrow(key: str) -> str:
    higher = metrics.METRICS[key].higher_is_better
    return "" if higher is None else ("↑" if higher else "↓")


def _digits(key: str) -> int:
    return 4 if key == "ssim" else 2


@dataclass
class EvaluationResult:
    photos: PhotoSet
    names: list[str]
    sources: dict[str, str]
    protocols: dict[str, dict]  # protocol -> {"per_image", "metrics", "real_cf", "win_rates", "verdict"}


def evaluate_colorizers(
    colorizers: list,
    photos: PhotoSet,
    *,
    size: int = 256,
    full_resolution: bool = True,
    fd: bool = True,
    progress: bool = True,
    sources: dict[str, str] | None = None,
) -> EvaluationResult:
    """Score every colorizer on every photo at each protocol resolution (see module docstring)."""
    from tqdm import tqdm

    names = [c.name for c in colorizers]
    if len(set(names)) != len(names):
        raise ValueError(f"colorizer names must be unique, got {names}")
    protocols = protocol_names(size, full_resolution)
    backends = metrics.feature_backends() if fd else []
    per_image = {p: [] for p in protocols}
    feats = {p: {b.name: {n: [] for n in names + ["__real__"]} for b in backends} for p in protocols}

    for path in tqdm(photos.paths, desc="evaluating", unit="photo", disable=not progress):
        rgb = load_image(path).rgb
        for protocol in protocols:
            real = protocol_reference(rgb, protocol)
            gray = to_gray(real)
            real_cf = metrics.colorfulness(real)
            preds = {c.name: colorize_array(c, gray) for c in colorizers}
            per_image[protocol].append({
                "file": photos.name(path),
                "real_cf": real_cf,
                "scores": {n: score_image(p, real, real_cf) for n, p in preds.items()},
            })
            for backend in backends:
                batch = backend([real] + [preds[n] for n in names])
                for key, vec in zip(["__real__"] + names, batch):
                    feats[protocol][backend.name][key].append(vec)

    results = {}
    for protocol in protocols:
        stacked = {b: {k: np.stack(v) for k, v in sets.items()} for b, sets in feats[protocol].items()}
        table = aggregate(per_image[protocol], names, stacked)
        results[protocol] = {
            "per_image": per_image[protocol],
            "metrics": table,
            "real_cf": _mean([r["real_cf"] for r in per_image[protocol]]),
            "win_rates": win_rates(per_image[protocol], names),
            "verdict": verdict(table, protocol),
        }
    return EvaluationResult(photos, names, sources or {n: n for n in names}, results)


# --- reports -----------------------------------------------------------------------------------------------------


def _columns(result: EvaluationResult) -> list[str]:
    first = next(iter(result.protocols.values()))["metrics"]
    present = set().union(*(row.keys() for row in first.values()))
    return [k for k in TABLE_METRICS if k in present]


def format_table(result: EvaluationResult) -> str:
    """One Markdown table: a row per (resolution, colorizer), plus the real photos' colourfulness for reference."""
    cols = _columns(result)
    header = ["resolution", "model"] + [k + _arrow(k) for k in cols]
    rows = []
    for protocol, res in result.protocols.items():
        label = "full" if protocol == FULL else f"{protocol}x{protocol}"
        for name in result.names:
            rows.append([label, name] + [metrics.format_number(res["metrics"][name].get(k), _digits(k)) for k in cols])
        rows.append([label, "(real photos)"] + [
            metrics.format_number(res["real_cf"], 2) if k == "cf" else "-" for k in cols
        ])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def format_win_rates(result: EvaluationResult, protocol: str) -> str:
    rates = result.protocols[protocol]["win_rates"]
    names = result.names
    lines = []
    for key, higher in WIN_RATE_METRICS:
        better = "higher" if higher else "lower"
        lines.append(f"**{key}** ({better} is better): share of photos on which the row beats the column")
        lines.append("")
        lines.append("| | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for a in names:
            cells = ["-" if a == b else f"{rates[key][a][b]:.0%}" for b in names]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def report_dict(result: EvaluationResult, command: str, config, extra: dict | None = None) -> dict:
    """The JSON report. JSON has no infinity: infinite values are the string "inf", missing ones (NaN) null."""

    def clean(obj):
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        if isinstance(obj, (float, np.floating)):
            return metrics.json_number(obj)
        if isinstance(obj, Path):
            return str(obj)
        return obj

    return clean({
        "command": command,
        "config": asdict(config),
        "number_conventions": 'infinite values are the string "inf"; values that could not be computed are null',
        "data": str(result.photos.root),
        "n_photos": len(result.photos.paths),
        "skipped_grayscale": result.photos.skipped_grayscale,
        "skipped_unreadable": result.photos.skipped_unreadable,
        "models": [{"name": n, "source": result.sources.get(n, n)} for n in result.names],
        "metrics_info": {
            k: {"higher_is_better": m.higher_is_better, "description": m.description}
            for k, m in metrics.METRICS.items()
        },
        "per_image_metrics": {k: {"higher_is_better": h} for k, h in WIN_RATE_METRICS},
        "protocols": {
            p: {"description": _protocol_description(p), **res}
            for p, res in result.protocols.items()
        },
        **(extra or {}),
    })


def _protocol_description(protocol: str) -> str:
    if protocol == FULL:
        return "full resolution"
    return f"short side resized to {protocol} (bicubic), centre crop {protocol}x{protocol}"


def load_report(path: str | Path) -> dict:
    """Read a report.json back, turning the "inf" strings into floats again."""

    def restore(obj):
        if isinstance(obj, dict):
            return {k: restore(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [restore(v) for v in obj]
        if obj in ("inf", "-inf"):
            return float(obj)
        return obj

    return restore(json.loads(Path(path).read_text()))


def report_markdown(result: EvaluationResult, title: str, grid_note: str) -> str:
    photos = result.photos
    skipped = f"{len(photos.skipped_grayscale)} grayscale"
    if photos.skipped_unreadable:
        skipped += f", {len(photos.skipped_unreadable)} unreadable"
    parts = [
        f"# {title}",
        "",
        f"{len(photos.paths)} photos from `{photos.root}` ({skipped} skipped). Each colorizer saw only the gray "
        "(L*a*b lightness) version of each photo. Resolutions: "
        + ", ".join("full resolution" if p == FULL else f"{p}x{p} (short side resized bicubic, centre crop)"
                    for p in result.protocols) + ".",
        "",
        format_table(result),
        "",
        *[result.protocols[p]["verdict"] for p in result.protocols],
        "",
        "PSNR, SSIM and CIEDE2000 reward staying close to the real colours, which dull guesses do well; CF rewards "
        "vivid colours whether right or not. Read them together: dCF and fd_efflite0 (a Fréchet distance on "
        "EfficientNet-Lite0 features — not FID, not comparable with published FID) say whether the colours look "
        "like real photos. fd_efflite0 depends on the number of photos; compare it only at equal counts.",
        "",
        "## Per-photo win rates",
        "",
    ]
    for p in result.protocols:
        parts += [f"### {'full resolution' if p == FULL else f'{p}x{p}'}", "", format_win_rates(result, p)]
    parts += ["## Examples", "", grid_note, "", "![grid](grid.png)", ""]
    return "\n".join(parts)


# --- grids -------------------------------------------------------------------------------------------------------


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def make_grid(rows: list[list[np.ndarray]], column_titles: list[str], row_labels: list[str], cell: int) -> Image.Image:
    """Equal-size cells in a table: a title row on top, a one-line label above each row."""
    title_h = max(16, cell // 12)
    label_h = title_h
    font = _font(max(9, title_h - 5))
    n_cols = len(column_titles)
    grid = Image.new("RGB", (n_cols * cell, title_h + len(rows) * (label_h + cell)), "white")
    draw = ImageDraw.Draw(grid)
    for j, title in enumerate(column_titles):
        draw.text((j * cell + 3, 2), title, fill="black", font=font)
    for i, (cells, label) in enumerate(zip(rows, row_labels)):
        top = title_h + i * (label_h + cell)
        draw.text((3, top + 2), label, fill=(60, 60, 60), font=font)
        for j, arr in enumerate(cells):
            grid.paste(Image.fromarray(arr).resize((cell, cell), Image.BICUBIC) if arr.shape[:2] != (cell, cell)
                       else Image.fromarray(arr), (j * cell, top + label_h))
    return grid


def best_median_worst(per_image: list[dict], name: str, key: str) -> list[tuple[str, int]]:
    """Indices of the best, median and worst photo of `name` by per-image `key` (ties: file order)."""
    higher = metrics.PER_IMAGE_METRICS[key]
    order = sorted(range(len(per_image)), key=lambda i: (per_image[i]["scores"][name][key], i), reverse=False)
    if higher:
        order = order[::-1]
    picks = [("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1])]
    seen, unique = set(), []
    for label, i in picks:
        if i not in seen:
            seen.add(i)
            unique.append((label, i))
    return unique


def evenly_spaced(n: int, k: int) -> list[int]:
    k = min(n, k)
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)}) if k > 1 else [0]


def grid_for(colorizers: list, photos: PhotoSet, indices: list[int], labels: list[str], size: int) -> Image.Image:
    """gray | colorizer 1 | ... | real for the chosen photos at the size x size protocol (re-run: deterministic)."""
    rows = []
    for i in indices:
        real = protocol_reference(load_image(photos.paths[i]).rgb, str(size))
        gray = to_gray(real)
        rows.append([gray] + [colorize_array(c, gray) for c in colorizers] + [real])
    titles = ["gray input"] + [c.name for c in colorizers] + ["real"]
    return make_grid(rows, titles, labels, cell=max(size, 96))


# --- building colorizers -----------------------------------------------------------------------------------------


def load_colorizer(spec: str | Path, mean_ab_data: str | Path | None = None):
    """A baseline name (gray, mean-ab), `default` (the bundled model) or a checkpoint path -> a colorizer."""
    from colorize import baselines

    spec_str = str(spec)
    if spec_str in baselines.BASELINES:
        return baselines.build_baseline(spec_str, mean_ab_data)
    from colorize import infer

    if spec_str == "default":
        path = Path(infer.DEFAULT_CHECKPOINT)
        if not path.is_file():
            raise FileNotFoundError(f"the bundled model {path} does not exist (yet); pass a checkpoint path instead")
        return infer.Colorizer.from_checkpoint(path, name="default")
    path = Path(spec_str)
    if not path.is_file():
        raise FileNotFoundError(
            f"{spec_str}: neither a checkpoint file nor a baseline name (gray, mean-ab, default)"
        )
    return infer.Colorizer.from_checkpoint(path)


def _unique_names(colorizers: list, specs: list[str]) -> dict[str, str]:
    """Give duplicate names (two checkpoints both called 'generator') a suffix; return name -> source spec."""
    seen: dict[str, int] = {}
    sources = {}
    for c, spec in zip(colorizers, specs):
        base = str(getattr(c, "name", None) or Path(spec).stem)
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}#{seen[base]}"
        if name != getattr(c, "name", None):
            c.name = name
        sources[name] = str(spec)
    return sources


def _write_reports(out: Path, report: dict, markdown: str, grid: Image.Image) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    (out / "report.md").write_text(markdown)
    grid.save(out / "grid.png")


# --- the two commands --------------------------------------------------------------------------------------------


def run_evaluate(config: EvaluateConfig, log=print) -> EvaluationResult:
    """`colorize evaluate`: one model (plus the baselines) on a folder; writes report.json, report.md, grid.png."""
    spec = str(config.checkpoint) if config.checkpoint is not None else "default"
    specs = [spec] + (["gray", "mean-ab"] if config.baselines else [])
    colorizers = [load_colorizer(s, config.mean_ab_data) for s in specs]
    sources = _unique_names(colorizers, specs)
    photos = scan_photos(config.data, config.limit)
    result = evaluate_colorizers(colorizers, photos, size=config.size, full_resolution=config.full_resolution,
                                 fd=config.fd, progress=config.progress, sources=sources)
    model = colorizers[0]
    per_image = result.protocols[str(config.size)]["per_image"]
    picks = best_median_worst(per_image, model.name, config.grid_by)
    labels = []
    for label, i in picks:
        value = metrics.format_number(per_image[i]["scores"][model.name][config.grid_by], 2)
        labels.append(f"{label}: {config.grid_by} {value} | {per_image[i]['file']}")
    grid = grid_for([model], photos, [i for _, i in picks], labels, config.size)
    grid_note = (f"Best, median and worst photo for `{model.name}` by per-photo {config.grid_by} at "
                 f"{config.size}x{config.size}: gray input | {model.name} | real.")
    report = report_dict(result, "evaluate", config, {
        "grid": {"file": "grid.png", "ranked_by": config.grid_by, "model": model.name,
                 "rows": [{"pick": label, "file": per_image[i]["file"]} for label, i in picks]},
    })
    _write_reports(Path(config.out), report, report_markdown(result, f"Evaluation of {model.name}", grid_note), grid)
    _print_summary(result, Path(config.out), log)
    return result


def run_compare(config: CompareConfig, log=print) -> EvaluationResult:
    """`colorize compare A B ...`: several checkpoints/baselines, one table, win rates, a side-by-side grid."""
    colorizers = [load_colorizer(s, config.mean_ab_data) for s in config.models]
    sources = _unique_names(colorizers, list(config.models))
    photos = scan_photos(config.data, config.limit)
    result = evaluate_colorizers(colorizers, photos, size=config.size, full_resolution=config.full_resolution,
                                 fd=config.fd, progress=config.progress, sources=sources)
    indices = evenly_spaced(len(photos.paths), config.grid_rows)
    labels = [photos.name(photos.paths[i]) for i in indices]
    grid = grid_for(colorizers, photos, indices, labels, config.size)
    names = " | ".join(result.names)
    grid_note = (f"{len(indices)} photos evenly spaced in file order at {config.size}x{config.size}: "
                 f"gray input | {names} | real.")
    report = report_dict(result, "compare", config, {
        "grid": {"file": "grid.png", "rows": labels},
    })
    markdown = report_markdown(result, "Comparison: " + ", ".join(result.names), grid_note)
    _write_reports(Path(config.out), report, markdown, grid)
    _print_summary(result, Path(config.out), log)
    return result


def _print_summary(result: EvaluationResult, out: Path, log) -> None:
    photos = result.photos
    log(f"{len(photos.paths)} photos ({len(photos.skipped_grayscale)} grayscale and "
        f"{len(photos.skipped_unreadable)} unreadable skipped)")
    log(format_table(result))
    for p in result.protocols:
        log(result.protocols[p]["verdict"])
    log(f"wrote {out / 'report.json'}, {out / 'report.md'}, {out / 'grid.png'}")
