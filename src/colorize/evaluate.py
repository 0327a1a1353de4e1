"""The evaluation protocol: colorize gray versions of held-out photos and score them against the originals.

Protocol (the same for every model and baseline, so numbers are comparable):
1. Photos are the image files under a folder (`find_images`, sorted). Unreadable files and photos that are already
   grayscale are skipped and counted: a gray photo has no colour to recover. `limit` keeps the first N usable ones.
2. Two resolutions: `"<size>"` — short side resized to `size` (bicubic), centre crop `size` x `size` (256 is the
   standard) — and `"full"` — the photo as it is.
3. The colorizer gets a gray image: the photo's CIE L*a*b lightness with a = b = 0 (the `gray` baseline's
   output), as RGB. It sees only L.
4. Every metric of `colorize.metrics.METRICS`: per image (PSNR, SSIM, CIEDE2000, colourfulness, colour cast) and
   per set (their means, dCF, the Fréchet distance of EfficientNet-Lite0 features `fd_efflite0`, not FID).
   Pairwise per-image win rates compare colorizers.
Everything is deterministic: fixed file order, no random crops, models in eval mode.

For speed, photos go through in chunks: each is decoded once for every protocol and model, each colorizer runs on
the whole chunk (batched forward passes), and each real photo's Lab, colourfulness and features are computed once.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorize import metrics
from colorize.data import resize_square
from colorize.evaluate_config import CompareConfig, EvaluateConfig
from colorize.images import find_images, is_grayscale, load_image

FULL = "full"
#: Photos decoded and scored together; the networks see batches drawn from them.
CHUNK_PHOTOS = 16
#: The key of the real photos' features beside each colorizer's.
REAL = "__real__"


# --- protocol images ---------------------------------------------------------------------------------------------


def colorize_arrays(colorizer, grays: list[np.ndarray]) -> list[np.ndarray]:
    """Run a colorizer on gray (H, W, 3) uint8 arrays, in batches when it has `colorize_batch`; check the sizes."""
    images = [Image.fromarray(gray, mode="RGB") for gray in grays]
    batch = getattr(colorizer, "colorize_batch", None)
    outputs = batch(images) if batch is not None else [colorizer.colorize(image) for image in images]
    preds = []
    for gray, out in zip(grays, outputs):
        pred = np.asarray(out.convert("RGB"), dtype=np.uint8)
        if pred.shape != gray.shape:
            raise ValueError(f"{colorizer.name}: returned a {pred.shape[1]}x{pred.shape[0]} image for a "
                             f"{gray.shape[1]}x{gray.shape[0]} input")
        preds.append(pred)
    return preds


def colorize_array(colorizer, gray: np.ndarray) -> np.ndarray:
    """`colorize_arrays` for one image."""
    return colorize_arrays(colorizer, [gray])[0]


def gray_inputs(references: list[np.ndarray]) -> list[np.ndarray]:
    """What a colorizer is allowed to see: each photo's lightness with a = b = 0, made by the gray baseline."""
    from colorize.baselines import GrayBaseline

    return colorize_arrays(GrayBaseline(), references)


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
    """The real photo as scored at `protocol`: as it is, or the training data's centred square of that size."""
    return np.asarray(rgb, dtype=np.uint8) if protocol == FULL else resize_square(rgb, int(protocol))


# --- scoring -----------------------------------------------------------------------------------------------------


def aggregate(per_image: list[dict], names: list[str], features: dict | None) -> dict[str, dict[str, float]]:
    """Set-level metrics for each colorizer from the per-image records (and feature sets, when computed)."""
    real_cf = np.array([rec["real_cf"] for rec in per_image])
    table = {}
    for name in names:
        values = {key: np.array([rec["scores"][name][key] for rec in per_image]) for key in metrics.PER_IMAGE_METRICS}
        feats = {backend: (sets[name], sets[REAL]) for backend, sets in (features or {}).items()}
        table[name] = metrics.set_metrics(metrics.SetScores(values, real_cf, feats))
    return table


def win_rates(per_image: list[dict], names: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """rates[metric][a][b]: share of photos on which `a` beats `b` on that per-image metric (ties count half)."""
    rates: dict = {}
    for key, metric in metrics.WIN_RATE_METRICS.items():
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
                    elif metric.beats(va, vb):
                        score += 1.0
                rates[key][a][b] = score / len(per_image)
    return rates


def protocol_label(protocol: str) -> str:
    return "full resolution" if protocol == FULL else f"{protocol}x{protocol}"


def verdict(table: dict[str, dict[str, float]], protocol: str) -> str:
    """One line: which colorizer is best on each metric that has a direction."""
    parts = []
    for key, metric in metrics.METRICS.items():
        values = {n: row[key] for n, row in table.items() if key in row and not math.isnan(row[key])}
        if metric.better is None or not values:
            continue
        best = metric.best(list(values.values()))
        winners = [n for n, v in values.items() if v == best]
        parts.append(f"{key}{metric.arrow} {' = '.join(winners)} ({metrics.format_number(best, metric.digits)})")
    return f"best at {protocol_label(protocol)}: " + "; ".join(parts)


@dataclass
class EvaluationResult:
    photos: PhotoSet
    names: list[str]
    sources: dict[str, str]
    protocols: dict[str, dict]  # protocol -> {"per_image", "metrics", "real_cf", "win_rates", "verdict"}


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    per_image: dict[str, list] = {p: [] for p in protocols}
    feats = {p: {b.name: {n: [] for n in [REAL, *names]} for b in backends} for p in protocols}

    with tqdm(total=len(photos.paths), desc="evaluating", unit="photo", disable=not progress) as bar:
        for chunk in _chunks(photos.paths, CHUNK_PHOTOS):
            decoded = [load_image(path).rgb for path in chunk]
            for protocol in protocols:
                reals = [protocol_reference(rgb, protocol) for rgb in decoded]
                grays = gray_inputs(reals)
                preds = {c.name: colorize_arrays(c, grays) for c in colorizers}
                for i, path in enumerate(chunk):
                    # One photo's Lab and SSIM moments at a time (megabytes each at full resolution), shared by
                    # all the colorizers scored against it.
                    reference = metrics.Reference(reals[i])
                    per_image[protocol].append({
                        "file": photos.name(path),
                        "real_cf": reference.cf,
                        "scores": {n: metrics.score_pair(metrics.ImagePair(preds[n][i], reference)) for n in names},
                    })
                for backend in backends:
                    # The real photos' features once per photo, then every colorizer's, in one batched pass.
                    groups = [(REAL, reals)] + [(n, preds[n]) for n in names]
                    vectors = iter(backend([image for _, images in groups for image in images]))
                    for key, images in groups:
                        feats[protocol][backend.name][key].extend(next(vectors) for _ in images)
            bar.update(len(chunk))

    results = {}
    for protocol in protocols:
        stacked = {b: {k: np.stack(v) for k, v in sets.items()} for b, sets in feats[protocol].items()}
        table = aggregate(per_image[protocol], names, stacked)
        results[protocol] = {
            "per_image": per_image[protocol],
            "metrics": table,
            "real_cf": float(np.mean([r["real_cf"] for r in per_image[protocol]])),
            "win_rates": win_rates(per_image[protocol], names),
            "verdict": verdict(table, protocol),
        }
    return EvaluationResult(photos, names, sources or {n: n for n in names}, results)


# --- reports -----------------------------------------------------------------------------------------------------


def table_columns(protocols: dict[str, dict], wanted: list[str] | None = None) -> list[str]:
    """The metrics present in these protocol results (those of `wanted` only, if given), in `METRICS` order."""
    first = next(iter(protocols.values()))["metrics"]
    present = set().union(*(row.keys() for row in first.values()))
    unknown = set(wanted or ()) - present
    if unknown:
        raise ValueError(f"no such metric in these results: {', '.join(sorted(unknown))}")
    return [k for k, m in metrics.METRICS.items() if m.in_table and k in present and (wanted is None or k in wanted)]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Cells padded to their column's width, so the source reads as a table too."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def metrics_table(protocols: dict[str, dict], names: list[str], *, columns: list[str] | None = None,
                  bold_best: bool = False) -> str:
    """One Markdown table: a row per (resolution, colorizer), plus the real photos' colourfulness for reference.

    `protocols` is `EvaluationResult.protocols` or a report's "protocols"; `columns` picks metrics (default: all
    present); `bold_best` marks each resolution's best value per metric.
    """
    cols = table_columns(protocols, columns)
    header = ["resolution", "model"] + [k + metrics.METRICS[k].arrow for k in cols]
    rows = []
    for protocol, res in protocols.items():
        label = "full" if protocol == FULL else f"{protocol}x{protocol}"
        table = res["metrics"]
        best = {}
        for k in cols:
            metric = metrics.METRICS[k]
            values = [v for n in names if (v := table[n].get(k)) is not None and not math.isnan(v)]
            if bold_best and metric.better is not None and len(values) > 1:
                best[k] = metric.best(values)
        for name in names:
            cells = []
            for k in cols:
                value = table[name].get(k)
                text = metrics.format_number(value, metrics.METRICS[k].digits)
                cells.append(f"**{text}**" if k in best and value == best[k] else text)
            rows.append([label, name] + cells)
        if "cf" in cols:  # the real photos' colourfulness is what cf and dcf are read against
            rows.append([label, "(real photos)"] + [
                metrics.format_number(res["real_cf"], metrics.METRICS["cf"].digits) if k == "cf" else "" for k in cols
            ])
    return markdown_table(header, rows)


def format_table(result: EvaluationResult) -> str:
    return metrics_table(result.protocols, result.names)


def format_win_rates(result: EvaluationResult, protocol: str) -> str:
    rates = result.protocols[protocol]["win_rates"]
    names = result.names
    lines = []
    for key, metric in metrics.WIN_RATE_METRICS.items():
        lines.append(f"**{key}** ({metric.better} is better): share of photos on which the row beats the column")
        lines.append("")
        lines.append("| | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for a in names:
            cells = ["-" if a == b else f"{rates[key][a][b]:.0%}" for b in names]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _metric_info(metric: metrics.Metric) -> dict:
    return {"better": metric.better, "higher_is_better": metric.higher_is_better, "digits": metric.digits,
            "description": metric.description}


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
        "metrics_info": {k: _metric_info(m) for k, m in metrics.METRICS.items()},
        "per_image_metrics": {k: _metric_info(m) for k, m in metrics.PER_IMAGE_METRICS.items()},
        "protocols": {
            p: {"description": _protocol_description(p), **res}
            for p, res in result.protocols.items()
        },
        **(extra or {}),
    })


#: What `trim_report` keeps of each protocol: the aggregate rows, not the per-photo records.
TRIMMED_PROTOCOL_KEYS = ("description", "metrics", "real_cf", "verdict")


def trim_report(report: dict) -> dict:
    """A report cut to its aggregate rows: small enough to commit beside the docs that quote it."""
    keep = ("command", "config", "number_conventions", "data", "n_photos", "skipped_grayscale", "skipped_unreadable",
            "models", "metrics_info")
    trimmed = {k: report[k] for k in keep if k in report}
    trimmed["protocols"] = {
        p: {k: res[k] for k in TRIMMED_PROTOCOL_KEYS if k in res} for p, res in report["protocols"].items()
    }
    return trimmed


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
        parts += [f"### {protocol_label(p)}", "", format_win_rates(result, p)]
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
    metric = metrics.PER_IMAGE_METRICS[key]
    order = sorted(range(len(per_image)), key=lambda i: (metric.rank_key(per_image[i]["scores"][name][key]), i))
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
    reals = [protocol_reference(load_image(photos.paths[i]).rgb, str(size)) for i in indices]
    grays = gray_inputs(reals)
    preds = [colorize_arrays(c, grays) for c in colorizers]
    rows = [[gray, *(p[row] for p in preds), real] for row, (gray, real) in enumerate(zip(grays, reals))]
    titles = ["gray input"] + [c.name for c in colorizers] + ["real"]
    return make_grid(rows, titles, labels, cell=max(size, 96))


# --- building colorizers -----------------------------------------------------------------------------------------


def load_colorizer(spec: str | Path, mean_ab_data: str | Path | None = None):
    """One model spec (`gray`, `mean-ab`, `default`, a checkpoint path, `NAME=` any of them) -> a colorizer."""
    from colorize.model_specs import load_model_spec, parse_model_spec

    return load_model_spec(parse_model_spec(spec), mean_ab_data=mean_ab_data)


def _write_reports(out: Path, report: dict, markdown: str, grid: Image.Image) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    (out / "report.md").write_text(markdown)
    grid.save(out / "grid.png")


def _evaluate_specs(specs: list[str], config) -> tuple[list, EvaluationResult]:
    from colorize.model_specs import load_models

    colorizers, sources = load_models(specs, mean_ab_data=config.mean_ab_data, options=config.inference)
    photos = scan_photos(config.data, config.limit)
    result = evaluate_colorizers(colorizers, photos, size=config.size, full_resolution=config.full_resolution,
                                 fd=config.fd, progress=config.progress, sources=sources)
    return colorizers, result


# --- the two commands --------------------------------------------------------------------------------------------


def run_evaluate(config: EvaluateConfig, log=print) -> EvaluationResult:
    """`colorize evaluate`: one model (plus the baselines) on a folder; writes report.json, report.md, grid.png."""
    spec = str(config.checkpoint) if config.checkpoint is not None else "default"
    colorizers, result = _evaluate_specs([spec] + (["gray", "mean-ab"] if config.baselines else []), config)
    model = colorizers[0]
    photos = result.photos
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
    colorizers, result = _evaluate_specs(list(config.models), config)
    photos = result.photos
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
