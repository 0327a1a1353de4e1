"""Training a hint-aware generator: --hints, hints sampled per step (seeded, resumable), --init-from a hint-free G."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from colorize.models import load_model
from colorize.train import TrainConfig, Trainer
from colorize.train.networks import build_networks, generator_kwargs, read_initial_weights
from colorize.train.runtime import Runtime
from test_train import FAST, checkpoint

LITE = dict(generator="efficientnet_lite0", pretrained=False, generator_option=("decoder_channels=[8, 8, 8, 8]",),
            size=32, batch_size=4, disc_filters=8, steps_per_epoch=2, **FAST)


def hint_weights(state: dict) -> dict:
    return {k: v for k, v in state.items() if k.startswith("hint_paths.")}


def test_hints_is_an_option_of_encoder_unets_only():
    assert generator_kwargs(TrainConfig(hints=True, **LITE))["hints"] is True
    assert "hints" not in generator_kwargs(TrainConfig(**LITE))  # hint-free runs build what they always did
    with pytest.raises(ValueError, match="--hints: the pix2pix_unet generator takes no colour hints"):
        TrainConfig(generator="pix2pix_unet", hints=True)


def test_a_hint_run_shows_g_the_hints_in_both_stages_and_resumes_exactly(image_folder, tmp_path):
    straight = TrainConfig(data=image_folder, out=tmp_path / "straight", pretrain_epochs=1, gan_epochs=1, hints=True,
                           **LITE)
    result = Trainer(straight).fit()
    after_pretrain = torch.load(tmp_path / "straight" / "checkpoints" / "epoch_001.pt", weights_only=True)
    final = checkpoint(tmp_path / "straight")
    # The hint paths start at zero and only hints can move them: moved in each stage, so G got hints in both.
    assert all(v.abs().sum() > 0 for v in hint_weights(after_pretrain["generator"]).values())
    assert any(not torch.equal(v, after_pretrain["generator"][k]) for k, v in hint_weights(final["generator"]).items())
    assert final["config"]["hints"] is True
    for path in (result.generator_path, tmp_path / "straight" / "checkpoints" / "last.pt"):
        assert load_model(path).takes_hints

    # Stopped after the first step and resumed: the hints of every step are drawn again exactly.
    broken = dataclasses.replace(straight, out=tmp_path / "broken")
    Trainer(broken, on_step=lambda trainer, step: trainer.request_stop() if step == 1 else None).fit()
    Trainer(dataclasses.replace(broken, resume=True, hints=False)).fit()  # hints: taken from the checkpoint
    resumed = checkpoint(tmp_path / "broken")
    assert resumed["step"] == final["step"] == 4
    assert resumed["generator"].keys() == final["generator"].keys()
    assert all(torch.equal(resumed["generator"][k], v) for k, v in final["generator"].items())


def test_init_from_a_hint_free_model_starts_with_its_exact_output(image_folder, tmp_path, capsys):
    Trainer(TrainConfig(data=image_folder, out=tmp_path / "plain", pretrain_epochs=1, gan_epochs=0, **LITE)).fit()
    plain_file = tmp_path / "plain" / "generator.safetensors"
    config = TrainConfig(data=image_folder, out=tmp_path / "guided", gan_epochs=1, hints=True, init_from=plain_file,
                         **LITE)
    runtime = Runtime("cpu", "fp32", False, 1)
    networks = build_networks(config, runtime, read_initial_weights(plain_file, config.generator))
    guided, plain = networks.generator.eval(), load_model(plain_file)
    assert guided.takes_hints and not plain.takes_hints
    l_norm = torch.rand(2, 1, 32, 32) * 2 - 1
    hints = torch.zeros(2, 3, 32, 32)
    hints[:, :, 4:9, 4:9] = torch.tensor([0.3, -0.2, 1.0]).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.equal(guided(l_norm, hints), plain(l_norm))

    # The other way round is refused: a hint model trained on without hints would silently lose them.
    Trainer(dataclasses.replace(config, out=tmp_path / "guided")).fit()
    guided_file = tmp_path / "guided" / "checkpoints" / "last.pt"
    with pytest.raises(ValueError, match="takes colour hints; pass --hints"):
        Trainer(TrainConfig(data=image_folder, out=tmp_path / "x", gan_epochs=1, init_from=guided_file,
                            **LITE)).fit()
    assert not (tmp_path / "x").exists()
