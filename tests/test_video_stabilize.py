import numpy as np
import pytest
import torch

from colorize.video.stabilize import TemporalStabilizer
from conftest import make_photo

HEIGHT, WIDTH = 48, 64


def _scene(frames: int, step: int = 0, seed: int = 0):
    """Luma and true ab of a textured photo panning left by `step` pixels a frame."""
    photo = make_photo(seed, (HEIGHT, WIDTH + step * frames)).astype(np.float32)
    luma = photo.mean(axis=2).astype(np.uint8)
    ab = torch.from_numpy(np.stack([photo[..., 0] - photo[..., 1], photo[..., 2] - photo[..., 1]]) / 8)
    return [(np.ascontiguousarray(luma[:, i * step : i * step + WIDTH]), ab[:, :, i * step : i * step + WIDTH])
            for i in range(frames)]


def _flicker(frames: list[torch.Tensor], truth: list[torch.Tensor], step: int) -> float:
    """Mean change of the error of a point of the scene from frame to frame (it moves `step` pixels left)."""
    errors = [f - t for f, t in zip(frames, truth)]
    return float(np.mean([(errors[i][..., : WIDTH - step] - errors[i - 1][..., step:]).norm(dim=0).mean()
                          for i in range(1, len(errors))]))


def _noisy(scene, sigma: float = 6.0):
    generator = torch.Generator().manual_seed(0)
    return [ab + sigma * torch.randn(ab.shape, generator=generator) for _, ab in scene]


def test_strength_zero_returns_each_prediction_unchanged():
    stabilizer = TemporalStabilizer(0.0)
    scene = _scene(4, step=2)
    for (luma, _), predicted in zip(scene, _noisy(scene)):
        assert torch.equal(stabilizer(luma, predicted), predicted)


@pytest.mark.parametrize("step", [0, 2])
def test_flicker_falls_by_more_than_half_and_error_does_not_grow(step):
    scene = _scene(12, step=step)
    truth = [ab for _, ab in scene]
    predicted = _noisy(scene)
    stabilizer = TemporalStabilizer(0.8)
    stable = [stabilizer(luma, ab) for (luma, _), ab in zip(scene, predicted)]
    assert _flicker(stable, truth, step) < 0.5 * _flicker(predicted, truth, step)
    error = [(s - t).abs().mean() for s, t in zip(stable, truth)]
    assert np.mean(error[4:]) < np.mean([(p - t).abs().mean() for p, t in zip(predicted[4:], truth[4:])])


def test_flow_keeps_moving_colour_in_place_where_blending_in_place_smears_it():
    scene = _scene(8, step=3)
    truth = [ab for _, ab in scene]
    errors = {}
    for flow in (True, False):
        stabilizer = TemporalStabilizer(0.8, flow=flow)
        stable = [stabilizer(luma, ab) for luma, ab in scene]  # exact predictions: any error is smearing
        errors[flow] = float(np.mean([(s - t).abs().mean() for s, t in zip(stable[1:], truth[1:])]))
    assert errors[True] < 0.5 * errors[False]


def test_a_scene_cut_starts_afresh():
    stabilizer = TemporalStabilizer(0.9)
    first, second = _scene(3, seed=1), _scene(1, seed=2)
    for luma, ab in first:
        stabilizer(luma, ab)
    luma, ab = second[0]
    assert torch.equal(stabilizer(luma // 3, ab), ab)  # another picture, darker
    assert stabilizer.scene_cuts == 1


def test_pixels_whose_lightness_changed_keep_their_own_colour():
    (luma, ab), = _scene(1)
    stabilizer = TemporalStabilizer(0.9, cut_threshold=1.0)
    stabilizer(luma, ab)
    changed = luma.copy()
    changed[:, :16] = 255 - changed[:, :16]  # a new object on the left: no match in the previous frame
    new_colour = ab.clone()
    new_colour[:, :, :16] += 40
    out = stabilizer(changed, new_colour)
    assert (out[:, 8:40, 4:12] - new_colour[:, 8:40, 4:12]).abs().mean() < 4  # mostly its own colour
    assert torch.allclose(out[:, :, 40:], ab[:, :, 40:], atol=1.0)  # unchanged pixels keep the history


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="strength"):
        TemporalStabilizer(1.0)
    with pytest.raises(ValueError, match="same"):
        TemporalStabilizer()(np.zeros((4, 4), np.uint8), torch.zeros(2, 4, 5))
