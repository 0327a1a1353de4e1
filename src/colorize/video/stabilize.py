"""Temporal stabilisation: each frame's predicted colour blended with the previous frames', along the motion.

Coloured one by one, frames of a film flicker: the network sees each frame alone, and small changes of light or
position change its guess. Here the stabilised colour of the previous frame is warped onto the current one with
dense optical flow (OpenCV's DIS, on the small luma copy), then blended with the current prediction:

    out = (1 - s * c) * predicted + s * c * warped_previous

s is the strength; c is a per-pixel confidence in the warp, from how well the warped previous luma matches the
current luma (occlusions, new content entering the frame and flow errors get c near 0, so moving objects keep their
own colour instead of dragging the background's). At a scene cut the history is dropped. Everything runs at the
network's render size, so it costs a few milliseconds per frame whatever the video's resolution.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from colorize.video.config import VideoConfig
from colorize.video.scenes import SceneCutDetector

#: Strength is capped below 1: at 1 the first frame's colour would never change again.
MAX_STRENGTH = 0.95
#: Luma difference (0-255) at which the confidence in a warped pixel has fallen to 1/e.
MATCH_SCALE = 12.0


class TemporalStabilizer:
    """Feed frames in order: `stabilizer(luma, ab)` returns the stabilised ab for that frame.

    strength: 0 returns every prediction unchanged, up to 0.95. flow: warp the history along the motion (else it is
    blended in place, which smears anything that moves). cut_threshold: lightness-histogram distance that starts a
    new shot (see `SceneCutDetector`).
    """

    def __init__(self, strength: float = VideoConfig.stabilize, *, flow: bool = VideoConfig.flow,
                 cut_threshold: float = VideoConfig.scene_cut):
        if not 0 <= strength <= MAX_STRENGTH:
            raise ValueError(f"stabilisation strength must be between 0 and {MAX_STRENGTH}, got {strength}")
        self.strength = strength
        self.flow = flow
        self.cuts = SceneCutDetector(cut_threshold)
        self.scene_cuts = 0  # cuts seen after the first frame
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if flow and strength else None
        self._luma: np.ndarray | None = None
        self._ab: np.ndarray | None = None  # (h, w, 2) float32, the last stabilised colour

    def __call__(self, luma: np.ndarray, ab: torch.Tensor) -> torch.Tensor:
        """luma: (h, w) uint8 at the prediction's size; ab: (2, h, w) predicted a*, b*. Returns (2, h, w)."""
        if ab.ndim != 3 or ab.shape[0] != 2 or tuple(ab.shape[1:]) != luma.shape:
            raise ValueError(f"luma {luma.shape} and ab {tuple(ab.shape)} must cover the same (h, w)")
        current = np.ascontiguousarray(ab.detach().cpu().float().permute(1, 2, 0).numpy())
        cut = self.cuts.is_cut(luma)
        if cut and self._luma is not None:
            self.scene_cuts += 1
        if not cut and self.strength > 0 and self._luma.shape == luma.shape:
            warped_ab, confidence = self._warp_history(luma)
            weight = (self.strength * confidence)[..., None]
            current = current + weight * (warped_ab - current)
        self._luma, self._ab = luma, current
        return torch.from_numpy(current).permute(2, 0, 1).contiguous()

    def _warp_history(self, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The previous stabilised ab moved onto the current frame, and the confidence (0-1) of each pixel."""
        height, width = luma.shape
        if self._flow is None:
            warped_luma, warped_ab = self._luma, self._ab
            inside = np.ones(luma.shape, bool)
        else:
            # Flow from the current frame back to the previous one: pixel x now was at x + flow(x) before.
            flow = self._flow.calc(luma, self._luma, None)
            grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
            map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
            warped_luma = cv2.remap(self._luma, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            warped_ab = cv2.remap(self._ab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # Content that came in from outside the previous frame has no history.
            inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        difference = (luma.astype(np.float32) - warped_luma.astype(np.float32)) / MATCH_SCALE
        confidence = np.exp(-difference * difference) * inside
        return warped_ab, confidence.astype(np.float32)
