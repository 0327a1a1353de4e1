"""The moving average of G (--ema-decay): its arithmetic, and a run that validates, exports and resumes it."""

from __future__ import annotations

import csv
import dataclasses

import pytest
import torch
from torch import nn

from colorize.cli import main
from colorize.models import load_model
from colorize.train import TrainConfig, Trainer
from colorize.train.ema import GeneratorEMA
from test_train import TINY, checkpoint



def test_parameters_are_averaged_and_buffers_copied():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = GeneratorEMA(net, decay=0.9)
    start = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.fill_(5.0)
    ema.update(net)
    assert torch.allclose(ema.model[0].weight, start + 0.1)
    assert torch.equal(ema.model[1].running_mean, torch.full((2,), 5.0))
    assert not ema.model.training and not any(p.requires_grad for p in ema.model.parameters())
    with pytest.raises(ValueError, match="ema_decay"):
        GeneratorEMA(net, decay=1.0)


def test_a_run_with_ema_validates_exports_and_resumes_the_average(image_folder, tmp_path):
    config = TrainConfig(data=image_folder, out=tmp_path / "straight", pretrain_epochs=1, gan_epochs=2,
                         ema_decay=0.5, **TINY)
    Trainer(config).fit()
    ckpt = checkpoint(tmp_path / "straight")
    averaged, raw = ckpt["generator_ema"], ckpt["generator"]
    assert any(not torch.equal(averaged[k], raw[k]) for k in raw if raw[k].is_floating_point())

    exported = load_model(tmp_path / "straight" / "generator.safetensors").state_dict()
    assert all(torch.equal(exported[k], averaged[k]) for k in averaged)
    from_checkpoint = load_model(tmp_path / "straight" / "checkpoints" / "last.pt").state_dict()
    assert all(torch.equal(from_checkpoint[k], averaged[k]) for k in averaged)

    # val_l1 in metrics.csv is the average's: recompute it from the saved weights.
    trainer = Trainer(dataclasses.replace(config, out=tmp_path / "probe", ema_decay=None))
    trainer.initial_val_l1()
    trainer.generator.load_state_dict(averaged)
    with (tmp_path / "straight" / "metrics.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["val_l1"]) == pytest.approx(trainer._validate(), rel=1e-5)

    # 2 epochs, then resume for the third == 3 straight, the average included.
    two = dataclasses.replace(config, out=tmp_path / "two", gan_epochs=1)
    Trainer(two).fit()
    Trainer(dataclasses.replace(config, out=tmp_path / "two", resume=True)).fit()
    resumed = checkpoint(tmp_path / "two")
    for part in ("generator", "generator_ema", "discriminator"):
        assert all(torch.equal(resumed[part][k], v) for k, v in ckpt[part].items()), part


def test_cli_flags_for_the_moving_average_and_the_discriminator(image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--data", str(image_folder), "--out", str(run), "--generator", "pix2pix_unet",
                 "--num-downs", "5", "--num-filters", "8", "--disc-filters", "8", "--size", "32", "--batch-size", "4",
                 "--gan-epochs", "1", "--ema-decay", "0.9", "--discriminator", "patch", "--no-progress",
                 "--no-tensorboard", "--precision", "fp32", "--num-threads", "1"])
    assert code == 0 and "EMA 0.9" in capsys.readouterr().out
    saved = checkpoint(run)
    assert saved["config"]["ema_decay"] == 0.9 and saved["discriminator_kind"] == "patch"
    assert main(["train", "--data", str(image_folder), "--out", str(tmp_path / "bad"), "--ema-decay", "1.5"]) == 2
    assert "ema_decay must be in (0, 1)" in capsys.readouterr().err
