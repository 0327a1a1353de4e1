import numpy as np
import pytest

from colorize.video.scenes import SceneCutDetector, histogram_distance, luma_histogram
from conftest import make_photo


def _luma(seed: int) -> np.ndarray:
    return make_photo(seed, (48, 64)).mean(axis=2).astype(np.uint8)


def test_histogram_is_normalised_and_distance_spans_0_to_1():
    dark, bright = np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)
    assert luma_histogram(dark).sum() == pytest.approx(1.0)
    assert histogram_distance(luma_histogram(dark), luma_histogram(dark)) == 0.0
    assert histogram_distance(luma_histogram(dark), luma_histogram(bright)) == pytest.approx(1.0)


def test_cut_detected_between_photos_not_within_a_pan():
    photo = make_photo(1, (48, 96)).mean(axis=2).astype(np.uint8)
    detector = SceneCutDetector(0.3)
    assert detector.is_cut(photo[:, :64])  # the first frame starts a shot
    assert not any(detector.is_cut(photo[:, shift : shift + 64]) for shift in range(2, 32, 2))
    other = photo[:, :64] // 3  # another shot, at night
    assert detector.is_cut(other)
    assert not detector.is_cut(other)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        SceneCutDetector(0)
    with pytest.raises(ValueError, match="uint8"):
        luma_histogram(_luma(0).astype(np.float32))
