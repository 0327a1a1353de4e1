"""The hint-aware encoder U-Net: zero-started hint paths, hint-free weights, saving and loading, and its errors."""

from __future__ import annotations

import pytest
import torch

from colorize.models import EncoderUNetGenerator, Generator, build_generator, load_model, save_generator
from colorize.models.generator_file import build_saved_generator

SMALL = {"pretrained": False, "decoder_channels": [8, 8, 8, 8]}


def hint_free_model(seed: int = 0) -> EncoderUNetGenerator:
    torch.manual_seed(seed)
    return build_generator("efficientnet_lite0", **SMALL).eval()


def hint_model(seed: int = 0) -> EncoderUNetGenerator:
    torch.manual_seed(seed)
    return build_generator("efficientnet_lite0", hints=True, **SMALL).eval()


def some_hints(batch: int = 2, size: int = 64) -> torch.Tensor:
    planes = torch.zeros(batch, 3, size, size)
    planes[:, 0, 10:20, 30:40], planes[:, 1, 10:20, 30:40], planes[:, 2, 10:20, 30:40] = 0.4, -0.2, 1.0
    return planes


def l_input(batch: int = 2, size: int = 64) -> torch.Tensor:
    return torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(5)) * 2 - 1


def test_the_config_says_whether_a_model_takes_hints():
    with_hints, without = hint_model(), hint_free_model()
    assert isinstance(with_hints, Generator) and with_hints.takes_hints and with_hints.config["hints"] is True
    assert not without.takes_hints and without.config["hints"] is False
    assert not build_generator("pix2pix_unet", num_downs=5, num_filters=8).takes_hints
    # A file written before hints existed has no "hints" key: it rebuilds the hint-free model it always was.
    old_config = {k: v for k, v in without.config.items() if k != "hints"}
    assert not build_saved_generator("efficientnet_lite0", old_config).takes_hints


def test_hint_paths_start_at_zero_so_a_hint_free_start_computes_the_same():
    base, guided = hint_free_model(seed=1), hint_model(seed=2)
    guided.load_hint_free_state(base.state_dict())
    l_norm = l_input()
    with torch.no_grad():
        expected = base(l_norm)
        assert torch.equal(guided(l_norm), expected)
        assert torch.equal(guided(l_norm, some_hints()), expected)  # zero paths: hints cannot matter yet
    assert all(p.abs().sum() == 0 for p in guided.hint_paths.parameters())


def test_the_hint_paths_do_not_change_the_seeded_init_of_the_rest():
    base, guided = hint_free_model(seed=3), hint_model(seed=3)
    shared = base.state_dict()
    assert all(torch.equal(shared[k], v) for k, v in guided.state_dict().items() if k in shared)


def test_trained_hint_paths_make_hints_matter_and_none_means_zero_planes():
    model = hint_model()
    with torch.no_grad():
        for p in model.hint_paths.parameters():
            p.normal_(0, 0.3, generator=torch.Generator().manual_seed(7))
        l_norm, hints = l_input(), some_hints()
        guided, unguided = model(l_norm, hints), model(l_norm)
        assert torch.equal(unguided, model(l_norm, torch.zeros_like(hints)))
    assert (guided - unguided).abs().max() > 0.05


def test_hint_errors():
    with pytest.raises(ValueError, match="takes no colour hints"):
        hint_free_model()(l_input(), some_hints())
    with pytest.raises(ValueError, match=r"hint planes must be \(B, 3, H, W\)"):
        hint_model()(l_input(), some_hints(size=32))
    with pytest.raises(ValueError, match="hint planes"):
        hint_model()(l_input(), some_hints()[:, :2])


def test_load_hint_free_state_refuses_anything_else():
    guided = hint_model()
    with pytest.raises(RuntimeError, match="hint_paths"):
        guided.load_hint_free_state(hint_model(seed=1).state_dict())  # a hint model's own weights
    broken = dict(hint_free_model().state_dict())
    broken.pop("head.0.weight")
    with pytest.raises(RuntimeError, match="head.0.weight"):
        guided.load_hint_free_state(broken)
    with pytest.raises(ValueError, match="for hint models"):
        hint_free_model().load_hint_free_state(hint_free_model().state_dict())


@pytest.mark.parametrize("fp16", [False, True])
def test_a_saved_hint_model_loads_as_a_hint_model(tmp_path, fp16):
    model = hint_model()
    with torch.no_grad():
        for p in model.hint_paths.parameters():
            p.fill_(0.1)
    loaded = load_model(save_generator(model, tmp_path / "g.safetensors", fp16=fp16))
    assert loaded.takes_hints and loaded.config == model.config
    l_norm, hints = l_input(), some_hints()
    with torch.no_grad():
        assert torch.allclose(loaded(l_norm, hints), model(l_norm, hints), atol=2e-2 if fp16 else 1e-6)
