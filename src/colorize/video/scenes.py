"""Scene-cut detection from lightness histograms.

Within a shot the distribution of lightness changes slowly (even in a pan or a zoom), across a cut it jumps. The
histograms are taken from the small luma copy the stabiliser already has, so detection costs next to nothing.
"""

from __future__ import annotations

import numpy as np

from colorize.video.config import VideoConfig

#: Coarse bins make the distance insensitive to noise and small exposure drifts within a shot.
HISTOGRAM_BINS = 32


def luma_histogram(luma: np.ndarray) -> np.ndarray:
    """Normalised (sums to 1) histogram of a uint8 luma image."""
    if luma.dtype != np.uint8 or luma.ndim != 2 or luma.size == 0:
        raise ValueError(f"expected a non-empty (h, w) uint8 luma image, got {luma.dtype} {luma.shape}")
    counts = np.bincount(luma.ravel() >> 3, minlength=HISTOGRAM_BINS).astype(np.float64)
    return counts / counts.sum()


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance of two normalised histograms: 0 identical, 1 disjoint."""
    return float(0.5 * np.abs(a - b).sum())


class SceneCutDetector:
    """Says whether each frame starts a new shot: its histogram is further than `threshold` from the previous one."""

    def __init__(self, threshold: float = VideoConfig.scene_cut):
        if not 0 < threshold <= 1:
            raise ValueError(f"scene-cut threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def is_cut(self, luma: np.ndarray) -> bool:
        """True for the first frame and for every frame that starts a new shot."""
        histogram = luma_histogram(luma)
        previous, self._previous = self._previous, histogram
        return previous is None or histogram_distance(previous, histogram) > self.threshold
