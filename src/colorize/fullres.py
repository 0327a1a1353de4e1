"""Full-resolution recombination: the photo's own lightness joined with the network's low-resolution colour.

The network predicts ab at a few hundred pixels; the output must keep every detail of the input. So ab is
upsampled (bicubic) to the photo's size and joined with the lightness of the ORIGINAL pixels, then converted to
sRGB. The maths is kornia's (D65, the same constants as `colorize.lab`), rearranged for speed and memory on
12-megapixel photos:

- The input's luminance Y is read through lookup tables (uint8 -> linear light, Y -> f(Y)) instead of pow();
  f is 7.8-Lipschitz, so a 65536-entry table is within 0.01 L units. The output transfer curve is a table too.
- Everything runs on chunks of rows (about 128 k pixels, float32) that stay in cache; peak extra memory is a few
  MB whatever the photo's size, never a float64 copy of the image.
- Chunks are spread over a small thread pool with one torch thread each (torch ops release the GIL): on a busy
  2-core machine, OpenMP teams for many small ops lose far more to spinning than they gain.
- Colours outside sRGB are pulled towards the gray of the same luminance in linear RGB instead of being clipped
  per channel. Clipping changes the lightness of saturated colours; this does not, so the output's L equals the
  input's L up to 8-bit rounding, and ab = 0 gives exactly the input's gray.
"""

from __future__ import annotations

import functools

import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

#: Pixels per chunk: 128 k float32 values are 512 kB per plane, small enough to stay in L2 between ops.
CHUNK_PIXELS = 1 << 17

# kornia's D65 constants (colorize.lab uses kornia, so the network's ab means the same thing here).
_Y_FROM_LINEAR_RGB = (0.212671, 0.715160, 0.072169)
_XYZ_TO_LINEAR_RGB = (
    (3.2404813432005266, -1.5371515162713185, -0.4985363261688878),
    (-0.9692549499965682, 1.8759900014898907, 0.0415559265582928),
    (0.0556466391351772, -0.2040413383665112, 1.0573110696453443),
)
_WHITE_X, _WHITE_Z = 0.95047, 1.08883
_F_THRESHOLD = 0.008856  # f(t) = t^(1/3) above, 7.787 t + 4/29 below
_FINV_THRESHOLD = 0.2068966
_TABLE_STEPS = 65535


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0.0031308, 1.055 * np.power(np.maximum(v, 0.0031308), 1 / 2.4) - 0.055, 12.92 * v)


def _lab_f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _F_THRESHOLD, np.cbrt(np.maximum(t, _F_THRESHOLD)), 7.787 * t + 4.0 / 29.0)


class _Tables:
    """Lookup tables, built once in float64 and stored as float32/uint8."""

    def __init__(self) -> None:
        linear = _srgb_to_linear(np.arange(256) / 255.0)
        grid = np.arange(_TABLE_STEPS + 1) / _TABLE_STEPS
        # Each channel's contribution to Y: Y = y_part[0][R] + y_part[1][G] + y_part[2][B].
        self.y_part = [torch.tensor(linear * weight, dtype=torch.float32) for weight in _Y_FROM_LINEAR_RGB]
        # Y and f(Y), with Y as the output side will see it: _finv(f(Y)) in float32 with the very ops used per
        # chunk, so that a = b = 0 reproduces it bit for bit and gives exactly neutral pixels.
        f_of_u8 = torch.tensor(_lab_f(linear), dtype=torch.float32)  # gray pixels: Y is the linear value
        f_of_y = torch.tensor(_lab_f(grid), dtype=torch.float32)
        self.y_of_u8, self.f_of_u8 = _finv(f_of_u8.clone()), f_of_u8
        self.y_of_y, self.f_of_y = _finv(f_of_y.clone()), f_of_y
        encoded = np.clip(np.rint(_linear_to_srgb(grid) * 255.0), 0, 255)
        self.u8_of_linear = torch.tensor(encoded.astype(np.uint8))


_tables: _Tables | None = None
_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _get_tables() -> _Tables:
    global _tables
    with _lock:
        if _tables is None:
            _tables = _Tables()
    return _tables


def _get_pool(workers: int) -> ThreadPoolExecutor:
    with _lock:
        if workers not in _pools:
            # One intra-op thread per worker: the parallelism comes from the pool, not from OpenMP.
            _pools[workers] = ThreadPoolExecutor(
                workers, thread_name_prefix="colorize-fullres", initializer=torch.set_num_threads, initargs=(1,)
            )
        return _pools[workers]


@functools.lru_cache(maxsize=16)
def resize_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) matrix M with M @ signal == 1-D bicubic resize (align_corners=False) of signal to n_out.

    Cached (building one cost three times the multiply it serves, and a server sees the same sizes again and
    again): callers must not modify it.

    Built by resizing the identity with `F.interpolate`, so it is exactly torch's bicubic kernel (a = -0.75,
    borders replicated); shrinking uses the antialiased kernel. Bicubic is separable, so two such matrices give
    the 2-D resize.
    """
    with torch.inference_mode(False):  # a normal tensor even when first built under inference_mode: it is shared
        eye = torch.eye(n_in, dtype=torch.float32).view(1, n_in, 1, n_in)
        rows = F.interpolate(eye, size=(1, n_out), mode="bicubic", align_corners=False, antialias=n_out < n_in)
        return rows[0, :, 0, :].T.contiguous()


def upsample_ab(ab: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(2, h, w) -> (2, H, W) bicubic; the same numbers `compose_full_resolution` uses, for tests and callers."""
    height, width = size
    return resize_matrix(ab.shape[1], height) @ (ab.float() @ resize_matrix(ab.shape[2], width).T)


def _finv(f: torch.Tensor) -> torch.Tensor:
    """Inverse of the Lab f(), in place on `f`: cube above the threshold, the linear segment below (continuous)."""
    below = (f - _FINV_THRESHOLD).clamp_(max=0.0).mul_(1.0 / 7.787)
    f.clamp_(min=_FINV_THRESHOLD)
    return f.mul(f).mul_(f).add_(below)


def _compose_chunk(src: list[torch.Tensor], a: torch.Tensor, b: torch.Tensor, dst: torch.Tensor) -> None:
    """One chunk: src 1 (gray) or 3 (R, G, B) (t, W) uint8 planes, a and b (t, W) float32 Lab units
    -> dst (3, t, W) uint8 R, G, B planes."""
    tables = _get_tables()
    rows, width = a.shape
    if len(src) == 3 and torch.equal(src[0], src[1]) and torch.equal(src[1], src[2]):
        src = src[:1]
    if len(src) == 1:
        # Gray input (the common case for old photos): Y and f(Y) straight from the 8-bit value.
        index, y_table, f_table = src[0].reshape(-1).int(), tables.y_of_u8, tables.f_of_u8
    else:
        parts = [table.index_select(0, plane.reshape(-1).int()) for table, plane in zip(tables.y_part, src)]
        luminance = parts[0].add_(parts[1]).add_(parts[2])
        index = luminance.clamp_(0.0, 1.0).mul_(_TABLE_STEPS).add_(0.5).int()
        y_table, f_table = tables.y_of_y, tables.f_of_y
    y = y_table.index_select(0, index).view(rows, width)
    fy = f_table.index_select(0, index).view(rows, width)

    # Offsets of X and Z from the neutral gray with this Y: exactly 0 when a = b = 0, so the gray axis maps to
    # (Y, Y, Y) exactly (the inverse matrix maps the white point to (1, 1, 1) only to 1e-4).
    d_x = _finv(torch.add(fy, a, alpha=1.0 / 500.0)).sub_(y).mul_(_WHITE_X)
    d_z = _finv(torch.sub(fy, b, alpha=1.0 / 200.0)).sub_(y).mul_(_WHITE_Z)
    offsets = torch.empty(3, rows, width)  # linear R, G, B minus Y
    for channel, row in enumerate(_XYZ_TO_LINEAR_RGB):
        torch.mul(d_x, row[0], out=offsets[channel]).add_(d_z, alpha=row[2])

    # Largest s <= 1 keeping y + s * offset inside [0, 1] for every channel: since the channel weights of Y sum
    # to 1, Y lies between the smallest and the largest channel, so both ratios are >= 1 for in-gamut colours.
    highest = offsets.amax(dim=0).clamp_(min=1e-7)
    lowest = offsets.amin(dim=0).neg_().clamp_(min=1e-7)
    scale = torch.minimum(torch.rsub(y, 1.0).div_(highest), y.div(lowest)).clamp_(max=1.0)
    # (y + scale * offset) as a table position, with the table scale folded into the (rows, W) factors so the
    # 3-channel tensor sees two ops; +0.5 then truncation by int() rounds to the nearest entry.
    position = torch.addcmul(y.mul(_TABLE_STEPS).add_(0.5), offsets, scale.mul_(_TABLE_STEPS), out=offsets)
    index = position.clamp_(0.5, _TABLE_STEPS + 0.5).int()
    dst.copy_(tables.u8_of_linear.index_select(0, index.view(-1)).view(3, rows, width))


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only input (PIL's buffer): only ever read here
        return torch.from_numpy(np.ascontiguousarray(array))


def compose_planes(planes: Sequence[np.ndarray], ab: torch.Tensor, *, workers: int | None = None) -> np.ndarray:
    """Join a photo's lightness with a low-resolution colour prediction, at the photo's full resolution.

    planes: the photo as 3 (R, G, B) or, for a gray photo, 1 (H, W) uint8 sRGB planes; only its L is used.
    ab: (2, h, w) a*, b* in Lab units (not normalised), any h, w; resized bicubically to (H, W).
    Returns (3, H, W) uint8 sRGB planes whose L equals the input's L (up to rounding) and whose a*, b* follow
    `ab` as far as the sRGB gamut allows at that lightness. `workers`: threads (default: torch's thread count).
    """
    if len(planes) not in (1, 3):
        raise ValueError(f"expected 1 (gray) or 3 (RGB) planes, got {len(planes)}")
    shapes = {plane.shape for plane in planes}
    if len(shapes) != 1 or planes[0].ndim != 2 or any(plane.dtype != np.uint8 for plane in planes):
        raise ValueError(f"expected (H, W) uint8 planes of one size, got {[(p.dtype, p.shape) for p in planes]}")
    if ab.ndim != 3 or ab.shape[0] != 2:
        raise ValueError(f"expected ab of shape (2, h, w), got {tuple(ab.shape)}")
    height, width = planes[0].shape
    ab = ab.detach().to("cpu", torch.float32)
    workers = max(1, torch.get_num_threads() if workers is None else workers)
    pool = _get_pool(workers)  # even a single task goes there: its threads run torch single-threaded

    def prepare() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # Horizontal pass once for the whole (small) prediction; the vertical pass per chunk touches only the few
        # prediction rows that chunk needs.
        with torch.inference_mode():
            vertical = resize_matrix(ab.shape[1], height)
            return ab @ resize_matrix(ab.shape[2], width).T, vertical, vertical != 0

    ab_wide, vertical, used = pool.submit(prepare).result()  # (2, h, W), (H, h), (H, h)
    src = [_as_tensor(plane) for plane in planes]
    out = np.empty((3, height, width), np.uint8)
    dst = torch.from_numpy(out)
    rows = max(1, min(CHUNK_PIXELS // width, -(-height // workers)))  # small photos: still one chunk per worker

    def run(top: int) -> None:
        bottom = min(height, top + rows)
        with torch.inference_mode():  # thread-local, so entered in the worker
            band = used[top:bottom].any(0).nonzero()
            first, last = int(band[0]), int(band[-1]) + 1
            a, b = torch.matmul(vertical[top:bottom, first:last], ab_wide[:, first:last]).unbind(0)
            _compose_chunk([plane[top:bottom] for plane in src], a, b, dst[:, top:bottom])

    list(pool.map(run, range(0, height, rows)))  # list() re-raises a worker's exception here
    return out


def compose_full_resolution(rgb: np.ndarray, ab: torch.Tensor, *, workers: int | None = None) -> np.ndarray:
    """`compose_planes` for an (H, W, 3) uint8 sRGB array; returns an (H, W, 3) uint8 array."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    planes = compose_planes([rgb[..., c] for c in range(3)], ab, workers=workers)
    return np.ascontiguousarray(planes.transpose(1, 2, 0))
