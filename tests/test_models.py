"""The pix2pix U-Net generator, the 70x70 PatchGAN discriminator and their weight initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorize.models import PatchDiscriminator, UNetGenerator, init_weights
from colorize.models.unet import UNetBlock



def _blocks_outside_in(gen: UNetGenerator) -> list[UNetBlock]:
    blocks, block = [], gen.model
    while block is not None:
        blocks.append(block)
        block = next((m for m in block.model if isinstance(m, UNetBlock)), None)
    return blocks


def test_unet_256_maps_l_to_ab_in_tanh_range():
    gen = UNetGenerator(num_filters=8).eval()
    l_norm = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.no_grad():
        ab = gen(l_norm)
    assert ab.shape == (1, 2, 256, 256)
    assert ab.abs().max() <= 1.0 and ab.std() > 0
    assert isinstance(gen.model.model[-1], nn.Tanh)
    assert gen.size_multiple == 256 and gen.arch == "pix2pix_unet"


def test_unet_is_nested_from_the_middle_out_with_dropout_in_three_inner_blocks():
    gen = UNetGenerator(num_downs=8, num_filters=4)
    blocks = _blocks_outside_in(gen)
    assert [b.kind for b in blocks] == ["outermost"] + ["middle"] * 6 + ["innermost"]
    dropouts = [[m.p for m in b.model if isinstance(m, nn.Dropout)] for b in blocks]
    # outermost, three widening blocks, three 8*ngf blocks with dropout 0.5, the bottleneck
    assert dropouts == [[], [], [], [], [0.5], [0.5], [0.5], []]
    down_convs = [next(m for m in b.model if isinstance(m, nn.Conv2d)) for b in blocks]
    assert [c.out_channels for c in down_convs] == [4, 8, 16, 32, 32, 32, 32, 32]
    assert down_convs[0].in_channels == 1
    assert all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in down_convs)
    up_out = [next(m for m in b.model if isinstance(m, nn.ConvTranspose2d)).out_channels for b in blocks]
    assert up_out == [2, 4, 8, 16, 32, 32, 32, 32]


def test_unet_with_five_downs_has_no_dropout_and_size_multiple_32():
    gen = UNetGenerator(num_downs=5, num_filters=8)
    assert gen.size_multiple == 32
    assert not any(isinstance(m, nn.Dropout) for m in gen.modules())
    assert gen(torch.zeros(2, 1, 64, 96)).shape == (2, 2, 64, 96)


def test_unet_skip_connection_concatenates_the_block_input():
    block = _blocks_outside_in(UNetGenerator(num_downs=5, num_filters=4))[1]
    x = torch.randn(2, 4, 16, 16)
    out = block(x)
    assert out.shape == (2, 8, 16, 16)
    assert torch.equal(out[:, :4], x)  # the skip half is the untouched input (no in-place activation)


def test_unet_dropout_is_the_noise_in_training_and_off_in_eval():
    gen = UNetGenerator(num_downs=6, num_filters=4)  # one dropout block
    x = torch.randn(2, 1, 64, 64)
    assert not torch.equal(gen.train()(x), gen(x))
    gen.eval()
    assert torch.equal(gen(x), gen(x))


def test_unet_config_rebuilds_the_same_network():
    gen = UNetGenerator(num_downs=6, num_filters=4, dropout=0.3)
    twin = UNetGenerator(**gen.config)
    assert twin.config == gen.config
    assert [p.shape for p in twin.parameters()] == [p.shape for p in gen.parameters()]


@pytest.mark.parametrize(
    "kwargs", [{"num_downs": 4}, {"num_filters": 0}, {"dropout": 1.0}, {"dropout": -0.1}]
)
def test_unet_rejects_bad_config(kwargs):
    with pytest.raises(ValueError):
        UNetGenerator(**kwargs)


@pytest.mark.parametrize("shape", [(1, 1, 48, 64), (1, 3, 64, 64), (1, 64, 64)])
def test_unet_rejects_bad_input_with_a_clear_error(shape):
    gen = UNetGenerator(num_downs=5, num_filters=4)
    with pytest.raises(ValueError, match="multiples of 32|shape"):
        gen(torch.zeros(shape))


def test_discriminator_layers_are_exactly_the_design():
    disc = PatchDiscriminator()
    layers = list(disc.model)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 64, (4, 4), (2, 2)),
        (64, 128, (4, 4), (2, 2)),
        (128, 256, (4, 4), (2, 2)),
        (256, 512, (4, 4), (1, 1)),
        (512, 1, (4, 4), (1, 1)),
    ]
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Conv2d", "LeakyReLU"] + ["Conv2d", "BatchNorm2d", "LeakyReLU"] * 3 + ["Conv2d"]
    assert all(m.negative_slope == 0.2 for m in layers if isinstance(m, nn.LeakyReLU))


def test_discriminator_gives_30x30_logits_at_256():
    disc = PatchDiscriminator()
    with torch.no_grad():
        out = disc(torch.randn(2, 3, 256, 256))
    assert out.shape == (2, 1, 30, 30)
    assert out.min() < 0 < out.max()  # raw logits: no activation at the end


def test_discriminator_receptive_field_is_70x70():
    disc = PatchDiscriminator(num_filters=8).eval()  # eval: batch statistics would couple every pixel
    x = torch.randn(1, 3, 256, 256, requires_grad=True)
    disc(x)[0, 0, 15, 15].backward()
    seen = x.grad.abs().sum(dim=(0, 1)) > 0
    rows = seen.any(dim=1).nonzero().flatten()
    cols = seen.any(dim=0).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70
    assert seen[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a full square, no holes


def test_init_statistics_match_pix2pix():
    gen = UNetGenerator(num_downs=6, num_filters=32)
    conv_w = torch.cat([m.weight.flatten() for m in gen.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    bn_w = torch.cat([m.weight for m in gen.modules() if isinstance(m, nn.BatchNorm2d)])
    biases = [m.bias for m in gen.modules() if getattr(m, "bias", None) is not None]
    assert conv_w.numel() > 100_000
    assert abs(conv_w.mean().item()) < 1e-3
    assert conv_w.std().item() == pytest.approx(0.02, rel=0.02)
    assert bn_w.numel() > 1000
    assert bn_w.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert bn_w.std().item() == pytest.approx(0.02, rel=0.1)
    assert biases and all(torch.all(b == 0) for b in biases)


def test_init_weights_covers_linear_and_transposed_conv_and_leaves_other_modules():
    net = nn.Sequential(nn.Conv2d(3, 64, 5), nn.ConvTranspose2d(64, 64, 4), nn.BatchNorm2d(64), nn.Linear(64, 256))
    for m in net.modules():
        if hasattr(m, "bias") and m.bias is not None:
            nn.init.constant_(m.bias, 3.0)
    assert init_weights(net) is net
    for m in (net[0], net[1], net[3]):
        assert m.weight.std().item() == pytest.approx(0.02, rel=0.1)
        assert torch.all(m.bias == 0)
    assert net[2].weight.mean().item() == pytest.approx(1.0, abs=0.01) and torch.all(net[2].bias == 0)


def test_discriminator_is_initialised_too():
    disc = PatchDiscriminator()
    w = torch.cat([m.weight.flatten() for m in disc.modules() if isinstance(m, nn.Conv2d)])
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    assert all(torch.all(m.bias == 0) for m in disc.modules() if isinstance(m, nn.Conv2d) and m.bias is not None)
