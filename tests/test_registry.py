"""Generator registry, the self-describing generator file, training-checkpoint loading and `colorize models`."""

from __future__ import annotations

import json

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


def test_options_are_the_class_keywords_minus_what_the_name_fixes():
    from colorize.models import generator_options

    assert generator_options("pix2pix_unet") == ("in_channels", "out_channels", "num_downs", "num_filters", "dropout")
    assert "encoder" not in generator_options("efficientnet_lite1")
    assert build_generator("efficientnet_lite1", pretrained=False).config["encoder"] == "efficientnet_lite1"


def test_built_generators_meet_the_written_contract():
    from colorize.models import FreezableEncoder, Generator

    unet = build_generator("pix2pix_unet", num_downs=5, num_filters=4)
    lite = build_generator("efficientnet_lite0", pretrained=False)
    assert isinstance(unet, Generator) and isinstance(lite, Generator)
    assert isinstance(lite, FreezableEncoder) and not isinstance(unet, FreezableEncoder)
    assert not isinstance(nn.Conv2d(1, 2, 3), Generator)


@pytest.fixture
def scratch_registries(monkeypatch):
    """Registrations made by the test are gone after it (the registries are module-level)."""
    from colorize.models import registry

    for reg in (registry._GENERATORS, registry._DISCRIMINATORS):
        monkeypatch.setattr(reg, "_builders", dict(reg._builders))
        monkeypatch.setattr(reg, "_fixed", dict(reg._fixed))


def test_register_architecture_takes_builder_functions_and_checks_the_contract(scratch_registries):
    from colorize.models import UNetGenerator, register_architecture

    def tiny_unet(num_filters: int = 4, **extra):
        return UNetGenerator(num_downs=5, num_filters=num_filters, **extra)

    register_architecture("test_tiny_unet", tiny_unet)
    register_architecture("test_not_a_generator", lambda: nn.Conv2d(1, 2, 3))
    assert build_generator("test_tiny_unet", num_filters=6).config["num_filters"] == 6
    with pytest.raises(ValueError, match="bad config for generator 'test_tiny_unet'.*width"):
        build_generator("test_tiny_unet", width=3)  # a **kwargs builder: its TypeError, reported as bad config
    with pytest.raises(TypeError, match="lacks the Generator contract"):
        build_generator("test_not_a_generator")
    with pytest.raises(ValueError, match="already registered"):
        register_architecture("pix2pix_unet", tiny_unet)


def test_discriminators_register_by_kind_like_generators(scratch_registries):
    from colorize.models import (
        Discriminator,
        PatchDiscriminator,
        build_discriminator,
        discriminator_options,
        list_discriminators,
        register_discriminator,
    )

    assert list_discriminators()[0] == "patch"
    d = build_discriminator("patch", num_filters=8, n_layers=2)
    assert type(d) is PatchDiscriminator and isinstance(d, Discriminator) and d.config["n_layers"] == 2
    assert discriminator_options("patch") == ("in_channels", "num_filters", "n_layers")
    with pytest.raises(ValueError, match="unknown discriminator kind 'huge'; known: patch"):
        build_discriminator("huge")
    with pytest.raises(ValueError, match="takes no option 'width'; it accepts: in_channels, num_filters, n_layers"):
        build_discriminator("patch", width=3)

    @register_discriminator("test_wide_patch", num_filters=32)
    class WidePatch(PatchDiscriminator):
        pass

    assert build_discriminator("test_wide_patch").config["num_filters"] == 32
    assert "num_filters" not in discriminator_options("test_wide_patch")
    with pytest.raises(ValueError, match="num_filters=32 by its name"):
        build_discriminator("test_wide_patch", num_filters=8)


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
        "config": {"lr": 2e-4},
    }


class _Foreign:
    """An object only the full unpickler could rebuild: a file holding one is refused, never unpickled."""


def test_load_model_refuses_pickles_with_foreign_objects(tmp_path):
    model = _build_trained_looking("pix2pix_unet")
    path = tmp_path / "foreign.pt"
    torch.save({**_training_checkpoint(model), "extra": _Foreign()}, path)
    with pytest.raises(ValueError, match="foreign.pt"):
        load_model(path)


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
    table, discriminators = out.split("\n\n")
    lines = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert list(lines) == ALL_ARCHS
    assert "patch: in_channels, num_filters, n_layers" in discriminators.splitlines()
    assert "54.41" in lines["pix2pix_unet"]
    lite0 = describe_architecture("efficientnet_lite0")
    assert lines["efficientnet_lite0"].split()[1:4] == [f"{lite0.params / 1e6:.2f}", f"{lite0.flops / 1e9:.2f}", "available"]
    if not backbones.pretrained_available("resnet18"):
        assert "not on this machine" in lines["resnet18"]


def test_colorize_models_rejects_a_bad_size(capsys):
    assert main(["models", "--size", "50"]) == 2
    assert "multiple of 32" in capsys.readouterr().err
