"""Edge-aware spreading of colour hints over a prediction (colorize.hint_spread)."""

from __future__ import annotations

import torch

from colorize.hint_spread import spread_hints
from colorize.hints import Hint, hint_ab
from colorize.lab import AB_SCALE

RED = (192, 48, 32)


def two_regions(h: int = 40, w: int = 80) -> torch.Tensor:
    """Lightness: 60 on the left half, 20 on the right (an edge at x = w / 2)."""
    lightness = torch.full((h, w), 60.0)
    lightness[:, w // 2 :] = 20.0
    return lightness


def test_no_hint_or_no_reach_leaves_the_prediction_alone():
    ab = torch.randn(2, 40, 80)
    assert spread_hints(ab, two_regions(), [], (80, 40), 0.2) is ab
    assert spread_hints(ab, two_regions(), [Hint(10, 10, RED)], (80, 40), 0.0) is ab


def test_a_hint_sets_its_square_and_spreads_within_its_region_only():
    ab = torch.zeros(2, 40, 80)
    target = hint_ab([Hint(0, 0, RED)])[0] * AB_SCALE
    out = spread_hints(ab, two_regions(), [Hint(10, 20, RED, radius=1)], (80, 40), 0.2)
    assert torch.allclose(out[:, 20, 10], target, atol=0.5)  # under the hint: the hint's colour
    near, further, across = out[:, 20, 14].norm(), out[:, 20, 30].norm(), out[:, 20, 50].norm()
    assert near > 0.9 * target.norm() > further > 0.3 * target.norm()  # same lightness: fading with distance
    assert across < 0.02 * target.norm()  # 40 L units darker, across the edge: nearly nothing
    far = spread_hints(torch.zeros(2, 40, 400), torch.full((40, 400), 60.0), [Hint(10, 20, RED, radius=1)], (400, 40), 0.2)
    assert far[:, 20, 390].norm() < 0.05 * target.norm()  # beyond the reach the model's colour stays


def test_hints_are_positioned_on_the_photo_not_the_render():
    ab = torch.zeros(2, 40, 80)
    # a 160x80 photo rendered at 80x40: the hint at photo (20, 40) lands at render (10, 20)
    out = spread_hints(ab, two_regions(), [Hint(20, 40, RED, radius=0)], (160, 80), 0.2)
    assert out[:, 20, 10].norm() > out[:, 5, 30].norm() and out.norm(dim=0).argmax() // 80 in range(18, 23)


def test_two_hints_blend_by_weight_and_the_result_is_corrected_relative_to_the_prediction():
    ab = torch.full((2, 40, 80), 5.0)
    blue = (40, 60, 160)
    hints = [Hint(5, 20, RED, radius=1), Hint(35, 20, blue, radius=1)]
    out = spread_hints(ab, two_regions(), hints, (80, 40), 0.2)
    red_ab, blue_ab = hint_ab(hints) * AB_SCALE
    assert torch.allclose(out[:, 20, 5], red_ab, atol=1.0) and torch.allclose(out[:, 20, 35], blue_ab, atol=1.0)
    middle = out[:, 20, 20]
    assert (middle - red_ab).norm() < (red_ab - blue_ab).norm() and (middle - blue_ab).norm() < (red_ab - blue_ab).norm()
