"""Generator registry, the self-describing generator file, training-checkpoint loading and `colorize models`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from colorize.cli import main
from colorize.models import backbones, build_generator, list_architectures, load_model, save_generator
from colorize.models.backbones import BackboneUnavailableError
from colorize.models.stats import count_flops, describe_architecture

ALL_ARCHS = ["pix2pix_unet", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet18", "resnet34"]
#: Small but structurally complete configs, so the round trip stays fast.
SMALL_CONFIGS = {"pix2pix_unet": {"num_downs": 5, "num_filters": 8}}
ENCODER_SMALL = {"decoder_channels": [32, 16, 16, 8]}



@pytest.fixture
def forbid_pretrained_loading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_model tried to load ImageNet weights")

    monkeypatch.setattr(backbones, "_resolve_weights", refuse)


def _build_trained_looking(arch: str, pretrained: bool = False) -> nn.Module:
    """A generator whose BatchNorm statistics and weights are not the defaults, in eval mode."""
    config = SMALL_CONFIGS.get(arch, {**ENCODER_SMALL, "pretrained": pretrained})
    try:
        model = build_generator(arch, **config)
    except BackboneUnavailableError as exc:
        pytest.skip(f"{arch} cannot be built here: {exc}")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
        model.train()(torch.rand(2, 1, 64, 64) * 2 - 1)  # moves the running stats
    return model.eval()


def test_every_architecture_is_registered():
    assert list_architectures() == ALL_ARCHS


def test_build_generator_errors_are_clear():
    with pytest.raises(ValueError, match="unknown generator architecture 'unet9'.*pix2pix_unet"):
        build_generator("unet9")
    with pytest.raises(ValueError, match="bad config for generator 'pix2pix_unet'"):
        build_generator("pix2pix_unet", num_layers=3)
    with pytest.raises(ValueError, match="encoder"):
        build_generator("efficientnet_lite0", encoder="efficientnet_lite1", pretrained=False)


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_load_model_round_trips_every_architecture(arch, tmp_path, forbid_pretrained_loading):
    model = _build_trained_looking(arch)
    path = save_generator(model, tmp_path / "g.safetensors")
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.arch == arch and loaded.config == model.config
    assert not loaded.training and all(p.dtype == torch.float32 for p in loaded.state_dict().values()
                                       if p.is_floating_point())
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))

    half = save_generator(model, tmp_path / "g16.safetensors", fp16=True)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    loaded16 = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded16.parameters())
    with torch.no_grad():
        diff = (loaded16(x) - model(x)).abs().max().item()
    assert 0 < diff < 2e-2


def test_generator_file_describes_itself(tmp_path):
    model = build_generator("pix2pix_unet", num_downs=5, num_filters=8)
    path = save_generator(model, tmp_path / "sub" / "g.safetensors", fp16=True)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        assert f.get_tensor("model.model.0.weight").dtype == torch.float16
    assert meta["format"] == "colorize-generator" and meta["arch"] == "pix2pix_unet"
    assert json.loads(meta["config"]) == model.config and meta["dtype"] == "float16"


def test_pretrained_encoder_rebuilds_without_imagenet_weights(tmp_path, monkeypatch):
    # build once with the real ImageNet weights...
    model = _build_trained_looking("efficientnet_lite0", pretrained=True)
    assert model.config["pretrained"] is True
    path = save_generator(model, tmp_path / "g.safetensors")
    monkeypatch.setattr(backbones, "_resolve_weights", lambda *a, **k: pytest.fail("looked for ImageNet weights"))
    loaded = load_model(path)  # ...and load it where they would be refused
    x = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def _training_checkpoint(model: nn.Module, prefix: str = "") -> dict:
    return {
        "arch": model.arch,
        "generator_config": model.config,
        "generator": {prefix + k: v for k, v in model.state_dict().items()},
        "discriminator": {"w": torch.zeros(3)},
        "epoch": 3,
        "step": 120,
        "numpy_rng": np.random.get_state(),  # not loadable with weights_only: exercises the fallback
        "config": {"lr": 2e-4},
    }


@pytest.mark.parametrize("prefix", ["", "module."])
def test_load_model_accepts_training_checkpoints(tmp_path, prefix):
    model = _build_trained_looking("pix2pix_unet")
    path = tmp_path / "last.pt"
    torch.save(_training_checkpoint(model, prefix), path)
    loaded = load_model(path)
    assert not loaded.training
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_files_that_are_not_colorize_generators_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "missing.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ValueError, match="not a colorize generator"):
        load_model(plain)
    text = tmp_path / "notes.pt"
    text.write_text("hello, not a model")
    with pytest.raises(ValueError, match="not a colorize generator"):
        load_model(text)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a colorize generator"):
        load_model(empty)
    other = tmp_path / "other.pt"
    torch.save({"model": {"w": torch.zeros(2)}}, other)
    with pytest.raises(ValueError, match="'arch', 'generator_config' and 'generator'"):
        load_model(other)


def test_weights_that_do_not_fit_the_config_are_a_clear_error(tmp_path):
    model = build_generator("pix2pix_unet", num_downs=5, num_filters=8)
    ckpt = {"arch": "pix2pix_unet", "generator_config": {**model.config, "num_filters": 4},
            "generator": model.state_dict()}
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="do not fit a pix2pix_unet generator"):
        load_model(tmp_path / "bad.pt")
    torch.save({**ckpt, "arch": "unet9"}, tmp_path / "unknown.pt")
    with pytest.raises(ValueError, match="unknown generator architecture 'unet9'"):
        load_model(tmp_path / "unknown.pt")


def test_save_generator_refuses_modules_that_are_not_generators(tmp_path):
    with pytest.raises(ValueError, match="not a registered colorize generator"):
        save_generator(nn.Conv2d(1, 2, 3), tmp_path / "x.safetensors")


def test_count_flops_counts_multiply_adds_twice():
    conv = nn.Conv2d(1, 2, 3, padding=1)
    assert count_flops(conv, size=8) == 2 * (8 * 8) * 2 * 9


def test_describe_architecture_matches_the_real_model():
    info = describe_architecture("pix2pix_unet")
    model = build_generator("pix2pix_unet")
    assert info.params == sum(p.numel() for p in model.parameters()) == 54_409_922
    assert info.flops == count_flops(model, 256)
    assert info.pretrained is None


def test_colorize_models_lists_every_architecture(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert list(lines) == ALL_ARCHS
    assert "54.41" in lines["pix2pix_unet"]
    lite0 = describe_architecture("efficientnet_lite0")
    assert lines["efficientnet_lite0"].split()[1:4] == [f"{lite0.params / 1e6:.2f}", f"{lite0.flops / 1e9:.2f}", "available"]
    if not backbones.pretrained_available("resnet18"):
        assert "not on this machine" in lines["resnet18"]


def test_colorize_models_rejects_a_bad_size(capsys):
    assert main(["models", "--size", "50"]) == 2
    assert "multiple of 32" in capsys.readouterr().err
