"""Colour hints: parsing, validation, rendering at render size, and training-time sampling."""

import pytest
import torch

from colorize.hints import (
    MAX_HINTS,
    Hint,
    HintSampling,
    as_hint,
    check_hints,
    hint_ab,
    hint_from_mapping,
    hint_to_mapping,
    parse_color,
    parse_hint,
    read_hints_file,
    render_hints,
    sample_hints,
)
from colorize.lab import normalize_ab, rgb_to_lab


def test_parse_colours_and_hints():
    assert parse_color("#c03020") == (192, 48, 32) == parse_color("C03020") == parse_color("192,48,32")
    assert parse_hint("120,80,#c03020") == Hint(120.0, 80.0, (192, 48, 32), 2)
    assert parse_hint(" 1.5, 2 ,#000000, 4").radius == 4


@pytest.mark.parametrize("text", ["120,80", "120,80,red", "a,80,#c03020", "1,2,#c03020,-1", "1,2,#c0302", "1,2,#c03020,99"])
def test_bad_hints_are_clear_errors(text):
    with pytest.raises(ValueError, match="hint"):
        parse_hint(text)


@pytest.mark.parametrize("text", ["#12345g", "256,0,0", "1,2", ""])
def test_bad_colours(text):
    with pytest.raises(ValueError, match="colour"):
        parse_color(text)


def test_check_hints_bounds_and_count():
    check_hints([Hint(0, 0, (0, 0, 0)), Hint(99.5, 49, (0, 0, 0))], 100, 50)
    with pytest.raises(ValueError, match="outside"):
        check_hints([Hint(100, 10, (0, 0, 0))], 100, 50)
    with pytest.raises(ValueError, match="outside"):
        check_hints([Hint(-1, 10, (0, 0, 0))], 100, 50)
    with pytest.raises(ValueError, match=f"at most {MAX_HINTS}"):
        check_hints([Hint(1, 1, (0, 0, 0))] * (MAX_HINTS + 1), 100, 50)


def test_hint_ab_matches_lab():
    ab = hint_ab([Hint(0, 0, (192, 48, 32)), Hint(0, 0, (128, 128, 128))])
    expected = normalize_ab(rgb_to_lab(torch.tensor([192, 48, 32.0]).view(1, 3, 1, 1) / 255)[0, 1:, 0, 0])
    assert torch.allclose(ab[0], expected)
    assert ab[0, 0] > 0.3  # a red: strongly positive a
    assert ab[1].abs().max() < 1e-3  # gray: no colour, but still a hint


def test_render_scales_positions_and_never_loses_a_hint():
    planes = render_hints([Hint(390, 10, (192, 48, 32), radius=0)], photo_size=(400, 200), render_size=(40, 20))
    assert planes.shape == (1, 3, 20, 40)
    ys, xs = torch.nonzero(planes[0, 2], as_tuple=True)
    assert ys.tolist() == [1] and xs.tolist() == [39]
    assert planes[0, 0, 1, 39] > 0.3 and planes[0, :, 5, 5].abs().sum() == 0
    assert render_hints([], (400, 200), (40, 20)).abs().sum() == 0


def test_sampling_is_seeded_and_uses_the_real_colours():
    g = torch.Generator().manual_seed(0)
    ab = torch.zeros(16, 2, 24, 24)
    ab[:, 0] = 0.5  # every real pixel has a = 0.5
    a = sample_hints(ab, torch.Generator().manual_seed(1))
    b = sample_hints(ab, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    mask = a[:, 2] > 0
    assert mask.any() and not mask.all()
    assert torch.allclose(a[:, 0][mask], torch.tensor(0.5)) and a[:, 1][mask].abs().max() == 0
    assert (a[:, :2][~mask.unsqueeze(1).expand(-1, 2, -1, -1)] == 0).all()
    none = sample_hints(ab, g, HintSampling(p_none=1.0))
    assert none.abs().sum() == 0


def test_hints_from_mappings_strings_and_hints():
    expected = Hint(120.0, 80.0, (192, 48, 32), 4)
    assert hint_from_mapping({"x": 120, "y": 80, "color": "#c03020", "radius": 4}) == expected
    assert hint_from_mapping({"x": 120, "y": 80, "color": [192, 48, 32], "radius": 4}) == expected
    assert hint_from_mapping({"x": 1.5, "y": 2, "color": "192,48,32"}).radius == 2
    assert hint_to_mapping(expected) == {"x": 120.0, "y": 80.0, "color": "#c03020", "radius": 4}
    assert hint_from_mapping(hint_to_mapping(expected)) == expected
    assert as_hint("120,80,#c03020,4") == as_hint(expected) == as_hint({"x": 120, "y": 80, "color": "c03020",
                                                                        "radius": 4}) == expected


@pytest.mark.parametrize("values, message", [
    ({"x": 1, "y": 2}, "needs x, y and color"),
    ({"x": 1, "y": 2, "color": "#000000", "size": 3}, "unknown keys"),
    ({"x": "1", "y": 2, "color": "#000000"}, "must be numbers"),
    ({"x": True, "y": 2, "color": "#000000"}, "must be numbers"),
    ({"x": 1, "y": 2, "color": [1, 2]}, "colour"),
    ({"x": 1, "y": 2, "color": [1, 2, 300]}, "colour"),
    ({"x": 1, "y": 2, "color": "#000000", "radius": 2.5}, "radius"),
])
def test_bad_hint_mappings(values, message):
    with pytest.raises(ValueError, match=message):
        hint_from_mapping(values)


def test_hints_file(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text('[{"x": 120, "y": 80, "color": "#c03020"}, {"x": 5, "y": 6, "color": [0, 0, 255], "radius": 0}]')
    assert read_hints_file(path) == [Hint(120, 80, (192, 48, 32)), Hint(5, 6, (0, 0, 255), 0)]
    path.write_text('{"x": 1}')
    with pytest.raises(ValueError, match="JSON list of objects"):
        read_hints_file(path)
    path.write_text('[{"x": 1, "y": 2, "color": "#000000"}, {"x": 1}]')
    with pytest.raises(ValueError, match="hint 2: bad hint"):
        read_hints_file(path)
    path.write_text("[{")
    with pytest.raises(ValueError, match="not a JSON hints file"):
        read_hints_file(path)
    with pytest.raises(FileNotFoundError, match="no such hints file"):
        read_hints_file(tmp_path / "missing.json")
