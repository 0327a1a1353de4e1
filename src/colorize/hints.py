"""User colour hints: a few points of known colour, as the sparse (ab, mask) map a hint-aware model reads.

A hint is a position in the photo as the user sees it (after EXIF rotation), a colour, and a radius. The model
gets two extra planes at its render size: the hint's ab (normalised like the model's output) inside a small square
around each point, and a mask that is 1 there and 0 elsewhere, so "no hint" and "a gray hint" differ. Training
draws hints from the real photo's own colours (most often none, so the model stays an automatic colorizer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import torch

from colorize.lab import normalize_ab, rgb_to_lab

#: A request may carry at most this many hints: more is an error, not a silent cut.
MAX_HINTS = 64
#: the hint planes a hint-aware model reads: a, b and the mask
HINT_CHANNELS = 3
DEFAULT_RADIUS = 2
MAX_RADIUS = 32
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Hint:
    """Colour `rgb` (0-255 each) at pixel (`x`, `y`) of the displayed photo, over a square of half-side `radius`."""

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: int = DEFAULT_RADIUS

    def __post_init__(self) -> None:
        if len(self.rgb) != 3 or any(not isinstance(c, int) or not 0 <= c <= 255 for c in self.rgb):
            raise ValueError(f"hint colour must be three integers 0-255, got {self.rgb!r}")
        if not isinstance(self.radius, int) or not 0 <= self.radius <= MAX_RADIUS:
            raise ValueError(f"hint radius must be an integer 0-{MAX_RADIUS}, got {self.radius!r}")


def parse_color(text: str) -> tuple[int, int, int]:
    """'#c03020', 'c03020' or '192,48,32' -> (192, 48, 32)."""
    text = text.strip()
    match = _HEX.match(text)
    if match:
        value = match.group(1)
        return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    parts = text.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
        rgb = tuple(int(p) for p in parts)
        if all(0 <= c <= 255 for c in rgb):
            return rgb  # type: ignore[return-value]
    raise ValueError(f"bad hint colour {text!r}: use #rrggbb or R,G,B with values 0-255")


def parse_hint(text: str) -> Hint:
    """'X,Y,#RRGGBB[,RADIUS]' as the CLI takes it, e.g. '120,80,#c03020' or '120,80,#c03020,4'."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4) or not _HEX.match(parts[2]):
        raise ValueError(f"bad hint {text!r}: use X,Y,#rrggbb[,RADIUS] (pixels of the photo as displayed)")
    try:
        radius = int(parts[3]) if len(parts) == 4 else DEFAULT_RADIUS
        return Hint(float(parts[0]), float(parts[1]), parse_color(parts[2]), radius)
    except ValueError as exc:
        raise ValueError(f"bad hint {text!r}: {exc}") from exc


#: What the Python API, the CLI's hints file and a JSON request accept as a hint.
HintLike = Union[Hint, str, Mapping[str, Any]]
_HINT_KEYS = ("x", "y", "color", "radius")


def hint_from_mapping(values: Mapping[str, Any]) -> Hint:
    """{"x": 120, "y": 80, "color": "#c03020" | "192,48,32" | [192, 48, 32], "radius": 4 (optional)} -> Hint."""
    unknown = sorted(set(values) - set(_HINT_KEYS))
    missing = [key for key in ("x", "y", "color") if key not in values]
    if unknown or missing:
        raise ValueError(f"bad hint {dict(values)!r}: it needs x, y and color (radius optional)"
                         + (f"; unknown keys {unknown}" if unknown else ""))
    x, y, color = values["x"], values["y"], values["color"]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (x, y)):
        raise ValueError(f"bad hint {dict(values)!r}: x and y must be numbers (pixels of the photo as displayed)")
    if isinstance(color, str):
        rgb = parse_color(color)
    elif isinstance(color, (list, tuple)) and len(color) == 3 and all(type(c) is int for c in color):
        rgb = tuple(color)
    else:
        raise ValueError(f"bad hint colour {color!r}: use '#rrggbb', 'R,G,B' or [R, G, B] with values 0-255")
    radius = values.get("radius", DEFAULT_RADIUS)
    if isinstance(radius, bool):
        raise ValueError(f"hint radius must be an integer 0-{MAX_RADIUS}, got {radius!r}")
    return Hint(float(x), float(y), rgb, radius)  # type: ignore[arg-type]


def hint_to_mapping(hint: Hint) -> dict[str, Any]:
    """The JSON form of a hint, as `hint_from_mapping` reads it back: {"x", "y", "color": "#rrggbb", "radius"}."""
    return {"x": hint.x, "y": hint.y, "color": "#{:02x}{:02x}{:02x}".format(*hint.rgb), "radius": hint.radius}


def as_hint(value: HintLike) -> Hint:
    """A Hint from a Hint, the CLI's 'X,Y,#rrggbb[,RADIUS]' text, or a {"x", "y", "color", "radius"?} mapping."""
    if isinstance(value, Hint):
        return value
    if isinstance(value, str):
        return parse_hint(value)
    if isinstance(value, Mapping):
        return hint_from_mapping(value)
    raise ValueError(f"a hint is a Hint, 'X,Y,#rrggbb[,RADIUS]' or a mapping with x, y, color, radius; "
                     f"got {type(value).__name__}")


def read_hints_file(path: str | Path) -> list[Hint]:
    """Hints from a JSON file holding a list of {"x", "y", "color", "radius"?} objects."""
    path = Path(path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no such hints file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON hints file ({exc})") from exc
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{path}: a hints file holds a JSON list of objects "
                         '[{"x": 120, "y": 80, "color": "#c03020", "radius": 4}, ...]')
    hints = []
    for index, item in enumerate(items):
        try:
            hints.append(hint_from_mapping(item))
        except ValueError as exc:
            raise ValueError(f"{path}: hint {index + 1}: {exc}") from exc
    return hints


def check_hints(hints: Sequence[Hint], width: int, height: int) -> None:
    """Raise a clear error for too many hints or one outside the `width` x `height` photo."""
    if len(hints) > MAX_HINTS:
        raise ValueError(f"{len(hints)} hints: at most {MAX_HINTS} are allowed")
    for h in hints:
        if not (0 <= h.x < width and 0 <= h.y < height):
            raise ValueError(f"hint at ({h.x:g}, {h.y:g}) is outside the {width}x{height} photo")


def hint_ab(hints: Iterable[Hint]) -> torch.Tensor:
    """The hints' colours as normalised ab, (N, 2)."""
    rgb = torch.tensor([h.rgb for h in hints], dtype=torch.float32).view(-1, 3, 1, 1) / 255.0
    if rgb.numel() == 0:
        return torch.zeros(0, 2)
    return normalize_ab(rgb_to_lab(rgb)[:, 1:, 0, 0])


def hint_boxes(hints: Sequence[Hint], photo_size: tuple[int, int],
               render_size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Each hint's square at `render_size` (w, h) of a `photo_size` (W, H) photo: (x0, x1, y0, y1), ends exclusive.

    Positions scale with the photo; a radius is in photo pixels too but covers at least the one render pixel the
    point falls in, so a hint is never lost to the downscale.
    """
    (W, H), (w, h) = photo_size, render_size
    sx, sy = w / W, h / H
    boxes = []
    for hint in hints:
        cx, cy = min(int(hint.x * sx), w - 1), min(int(hint.y * sy), h - 1)
        rx, ry = int(round(hint.radius * sx)), int(round(hint.radius * sy))
        boxes.append((max(cx - rx, 0), min(cx + rx + 1, w), max(cy - ry, 0), min(cy + ry + 1, h)))
    return boxes


def render_hints(hints: Sequence[Hint], photo_size: tuple[int, int], render_size: tuple[int, int]) -> torch.Tensor:
    """User hints on a `photo_size` (W, H) photo -> the (1, 3, h, w) [ab, mask] planes at `render_size` (w, h),
    each hint over its `hint_boxes` square."""
    (W, H), (w, h) = photo_size, render_size
    check_hints(hints, W, H)
    planes = torch.zeros(1, 3, h, w)
    if not hints:
        return planes
    for (x0, x1, y0, y1), ab in zip(hint_boxes(hints, photo_size, render_size), hint_ab(hints)):
        planes[0, :2, y0:y1, x0:x1] = ab.view(2, 1, 1)
        planes[0, 2, y0:y1, x0:x1] = 1.0
    return planes


@dataclass(frozen=True)
class HintSampling:
    """How training draws hints from the real colours (the counts follow a geometric law, as users give few)."""

    p_none: float = 0.5  # share of photos that get no hint at all: the automatic colorizer must not suffer
    mean_count: float = 8.0  # mean number of hints on the others
    max_count: int = 32
    max_radius: int = 4  # patch half-side in render pixels, drawn uniformly in 0..max_radius


def sample_hints(ab_real: torch.Tensor, generator: torch.Generator,
                 spec: HintSampling = HintSampling()) -> torch.Tensor:
    """Real ab (B, 2, H, W) -> training hint planes (B, 3, H, W): each hint the mean real ab of its patch."""
    B, _, H, W = ab_real.shape
    ab = ab_real.detach().float()
    planes = torch.zeros(B, 3, H, W)
    none = torch.rand(B, generator=generator) < spec.p_none
    p = 1.0 / spec.mean_count
    # Geometric count >= 1 by inversion: 1 + floor(log(u) / log(1 - p)).
    u = torch.rand(B, generator=generator).clamp_min(1e-12)
    counts = (1 + torch.floor(torch.log(u) / torch.log(torch.tensor(1.0 - p)))).clamp(max=spec.max_count).long()
    for i in range(B):
        if none[i]:
            continue
        n = int(counts[i])
        ys = torch.randint(0, H, (n,), generator=generator)
        xs = torch.randint(0, W, (n,), generator=generator)
        radii = torch.randint(0, spec.max_radius + 1, (n,), generator=generator)
        for y, x, r in zip(ys.tolist(), xs.tolist(), radii.tolist()):
            y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, H), max(x - r, 0), min(x + r + 1, W)
            planes[i, :2, y0:y1, x0:x1] = ab[i, :, y0:y1, x0:x1].mean(dim=(1, 2)).view(2, 1, 1)
            planes[i, 2, y0:y1, x0:x1] = 1.0
    return planes.to(ab_real.device)
