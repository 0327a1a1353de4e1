"""Training checkpoints: checkpoints in the layout older versions wrote still load and resume bit for bit;
resume positions, epoch keeping and the resume-config merge."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from colorize.models import load_model
from colorize.train import TrainConfig, Trainer
from colorize.train.checkpoint import keeps_epoch, merge_resumed_config, resume_position
from test_train import TINY, checkpoint


#: The keys every checkpoint had before discriminator kinds and the moving average, and the config fields then.
OLD_KEYS = {"format", "version", "arch", "generator_config", "generator", "discriminator", "discriminator_config",
            "optimizer_G", "optimizer_D", "scaler_G", "scaler_D", "stage", "epoch", "batches_done", "partial_sums",
            "partial_images", "step", "config", "rng", "world_size"}
NEW_CONFIG_FIELDS = ("discriminator", "discriminator_option", "init_from", "ema_decay")


def rewrite_in_old_layout(run) -> None:
    """Rewrite the run's last.pt as the previous version of `colorize train` wrote it."""
    ckpt = checkpoint(run)
    old = {k: v for k, v in ckpt.items() if k in OLD_KEYS}
    old["config"] = {k: v for k, v in ckpt["config"].items() if k not in NEW_CONFIG_FIELDS}
    assert old.keys() == OLD_KEYS
    torch.save(old, run / "checkpoints" / "last.pt")


def test_a_checkpoint_in_the_old_layout_loads_and_resumes_exactly(image_folder, tmp_path):
    config = TrainConfig(data=image_folder, out=tmp_path / "straight", pretrain_epochs=1, gan_epochs=2, **TINY)
    Trainer(config).fit()

    def stop_at(step):
        return lambda trainer, s: trainer.request_stop() if s == step else None

    old = dataclasses.replace(config, out=tmp_path / "old")
    assert Trainer(old, on_step=stop_at(3)).fit().interrupted  # inside GAN epoch 2
    rewrite_in_old_layout(tmp_path / "old")
    assert load_model(tmp_path / "old" / "checkpoints" / "last.pt").arch == "pix2pix_unet"
    result = Trainer(dataclasses.replace(old, resume=True)).fit()
    assert result.epochs_completed == 3

    reference, resumed = checkpoint(tmp_path / "straight"), checkpoint(tmp_path / "old")
    for part in ("generator", "discriminator"):
        assert all(torch.equal(resumed[part][k], v) for k, v in reference[part].items()), part
    assert resumed["discriminator_kind"] == "patch" and resumed["config"]["discriminator"] == "patch"


def test_resume_position_and_its_errors(tmp_path):
    config = TrainConfig(data=tmp_path, pretrain_epochs=1, gan_epochs=2, **TINY)
    assert resume_position({"epoch": 1, "batches_done": 0, "stage": "pretrain"}, config) == (2, 0)
    assert resume_position({"epoch": 1, "batches_done": 3, "stage": "gan"}, config) == (2, 3)
    with pytest.raises(ValueError, match="already completed 3 epochs.*above 2"):
        resume_position({"epoch": 3, "batches_done": 0, "stage": "gan"}, config)
    with pytest.raises(ValueError, match="interrupted inside a stage"):
        resume_position({"epoch": 0, "batches_done": 1, "stage": "pretrain"},
                        dataclasses.replace(config, pretrain_epochs=0))


def test_keeps_every_nth_epoch_and_each_stages_last():
    config = TrainConfig(pretrain_epochs=3, gan_epochs=4, keep_every=5, data="x", **TINY)
    assert [e for e in range(1, 8) if keeps_epoch(config, e)] == [3, 5, 7]


def test_resume_keeps_the_run_defining_settings_of_the_checkpoint(tmp_path, capsys):
    saved = TrainConfig(data=tmp_path, lambda_l1=10.0, discriminator="patch", ema_decay=0.99, **TINY).to_dict()
    given = TrainConfig(out=tmp_path, resume=True, lambda_l1=50.0, gan_epochs=9, ema_decay=0.5, lr=1e-5)
    merged = merge_resumed_config(given, saved)
    assert (merged.lambda_l1, merged.ema_decay, merged.generator, merged.num_downs) == (10.0, 0.99, "pix2pix_unet", 5)
    assert (merged.gan_epochs, merged.lr, merged.resume) == (9, 1e-5, True)  # how long and how: the command line's
    err = capsys.readouterr().err
    assert "lambda_l1=10.0" in err and "ema_decay=0.99" in err and "gan_epochs" not in err
