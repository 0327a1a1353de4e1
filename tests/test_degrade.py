"""Old-photo degradations: seeded, shape-preserving, and visibly different from the clean photo."""

import pytest
import torch

from colorize.degrade import Degradations, degrade_gray, degrade_l, gray_to_l, l_to_gray


def _gray(seed: int = 0, n: int = 8, size: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0.1, 0.9, size).view(1, 1, 1, size).expand(n, 1, size, size)
    return (ramp + 0.05 * torch.rand(n, 1, size, size, generator=g)).clamp(0, 1)


def test_gray_round_trip_through_l():
    gray = _gray()
    assert torch.allclose(l_to_gray(gray_to_l(gray)), gray, atol=1e-4)


def test_seeded_and_shape_preserving():
    gray = _gray()
    a = degrade_gray(gray, torch.Generator().manual_seed(3))
    b = degrade_gray(gray, torch.Generator().manual_seed(3))
    c = degrade_gray(gray, torch.Generator().manual_seed(4))
    assert a.shape == gray.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("kind", ["fade", "blur", "noise", "grain", "jpeg"])
def test_each_degradation_changes_the_photo(kind):
    off = dict(fade=0.0, blur=0.0, noise=0.0, grain=0.0, jpeg=0.0)
    gray = _gray(n=2, size=64)
    untouched = degrade_gray(gray, torch.Generator().manual_seed(0), Degradations(**off))
    assert torch.equal(untouched, gray)
    out = degrade_gray(gray, torch.Generator().manual_seed(0), Degradations(**{**off, kind: 1.0}))
    assert (out - gray).abs().mean() > 1e-3, kind


def test_fade_lowers_contrast_and_blur_smooths():
    off = dict(fade=0.0, blur=0.0, noise=0.0, grain=0.0, jpeg=0.0)
    gray = _gray(n=4, size=64)
    faded = degrade_gray(gray, torch.Generator().manual_seed(1), Degradations(**{**off, "fade": 1.0}))
    assert (faded.amax(dim=(1, 2, 3)) - faded.amin(dim=(1, 2, 3))).lt(
        gray.amax(dim=(1, 2, 3)) - gray.amin(dim=(1, 2, 3))).all()
    blurred = degrade_gray(gray, torch.Generator().manual_seed(1), Degradations(**{**off, "blur": 1.0}))
    assert blurred.diff(dim=2).abs().mean() < gray.diff(dim=2).abs().mean()


def test_degrade_l_keeps_model_space():
    l_norm = gray_to_l(_gray())
    out = degrade_l(l_norm, torch.Generator().manual_seed(0))
    assert out.shape == l_norm.shape and out.dtype == l_norm.dtype
    assert out.min() >= -1.0 - 1e-5 and out.max() <= 1.0 + 1e-5


def test_bad_specs_are_clear_errors():
    with pytest.raises(ValueError, match="probability"):
        Degradations(blur=1.5)
    with pytest.raises(ValueError, match="gray batch"):
        degrade_gray(torch.zeros(1, 3, 8, 8), torch.Generator())
