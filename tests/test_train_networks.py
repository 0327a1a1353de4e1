"""A run's networks: per-architecture options checked before anything is written, and --init-from."""

from __future__ import annotations

import csv
import dataclasses
import warnings

import pytest
import torch

from colorize.cli import main
from colorize.models import build_discriminator, build_generator, save_generator
from colorize.train import TrainConfig, Trainer
from colorize.train.networks import discriminator_kwargs, generator_kwargs
from test_train import FAST, TINY, checkpoint



def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_unet_options_on_an_encoder_unet_fail_at_once_naming_what_it_accepts():
    with pytest.raises(ValueError, match=r"--num-filters.*efficientnet_lite0 generator; it accepts: pretrained, "
                                         r"encoder_weights, decoder_channels, upsample, out_channels"):
        TrainConfig(generator="efficientnet_lite0", num_filters=32)
    with pytest.raises(ValueError, match="takes no option 'depth'.*accepts: in_channels, out_channels, num_downs"):
        TrainConfig(generator="pix2pix_unet", generator_option=("depth=3",))
    with pytest.raises(ValueError, match="unknown discriminator kind 'nope'; known: patch"):
        TrainConfig(discriminator="nope")
    with pytest.raises(ValueError, match="unknown generator architecture 'unet9'"):
        TrainConfig(generator="unet9")


def test_the_cli_reports_a_wrong_option_before_writing_anything(tmp_path, image_folder, capsys):
    run = tmp_path / "run"
    code = main(["train", "--data", str(image_folder), "--out", str(run), "--generator", "efficientnet_lite0",
                 "--num-downs", "6"])
    assert code == 2 and "--num-downs" in capsys.readouterr().err
    assert not run.exists()


def test_options_go_where_the_architecture_takes_them():
    unet = TrainConfig(generator="pix2pix_unet", num_downs=6, dropout=0.0, pretrained=False)
    assert generator_kwargs(unet) == {"num_downs": 6, "dropout": 0.0}  # pretrained: nothing to switch off
    assert discriminator_kwargs(unet) == {"num_filters": 64, "n_layers": 3, "in_channels": 3}
    lite = TrainConfig(generator="efficientnet_lite0", encoder_weights="w.pth",
                       generator_option=("decoder_channels=[8, 8, 8, 8]",))
    assert generator_kwargs(lite) == {"pretrained": True, "encoder_weights": "w.pth",
                                      "decoder_channels": [8, 8, 8, 8]}
    patch = TrainConfig(discriminator_option=("n_layers=2",), disc_filters=16)
    assert build_discriminator("patch", **discriminator_kwargs(patch)).config == {
        "in_channels": 3, "num_filters": 16, "n_layers": 2}


def write_stage_1(image_folder, run):
    config = TrainConfig(data=image_folder, out=run, pretrain_epochs=1, gan_epochs=0, **TINY)
    Trainer(config).fit()
    return checkpoint(run)


def test_init_from_starts_a_new_gan_run_from_a_shared_stage_1_checkpoint(image_folder, tmp_path):
    stage_1 = write_stage_1(image_folder, tmp_path / "l1")
    # No U-Net sizes given: the generator is built as the checkpoint's.
    base = dict(data=image_folder, generator="pix2pix_unet", disc_filters=8, size=32, batch_size=4, gan_epochs=1,
                init_from=tmp_path / "l1" / "checkpoints" / "last.pt", **FAST)
    first = Trainer(TrainConfig(out=tmp_path / "a", lr=1e-3, **base))
    first.initial_val_l1()
    assert same_weights(first.generator.state_dict(), stage_1["generator"])
    assert same_weights(first.discriminator.state_dict(), stage_1["discriminator"])
    assert first.generator.config["num_downs"] == 5

    for name, lr in (("a", 1e-3), ("b", 1e-5)):  # two stage-2 runs with different settings, one start
        result = Trainer(TrainConfig(out=tmp_path / name, lr=lr, **base)).fit()
        assert result.epochs_completed == 1
        with (tmp_path / name / "metrics.csv").open() as f:
            assert [(r["epoch"], r["stage"]) for r in csv.DictReader(f)] == [("1", "gan")]  # numbering starts fresh
        assert checkpoint(tmp_path / name)["step"] == 2
    a, b = checkpoint(tmp_path / "a"), checkpoint(tmp_path / "b")
    assert not same_weights(a["generator"], b["generator"])


def test_init_from_a_generator_file_or_another_discriminator_starts_d_fresh(image_folder, tmp_path, capsys):
    stage_1 = write_stage_1(image_folder, tmp_path / "l1")
    file = save_generator(build_generator("pix2pix_unet", num_downs=5, num_filters=8), tmp_path / "g.safetensors")
    fresh = Trainer(TrainConfig(data=image_folder, out=tmp_path / "fresh", gan_epochs=1, **TINY))
    fresh.initial_val_l1()
    from_file = Trainer(TrainConfig(data=image_folder, out=tmp_path / "f", gan_epochs=1, init_from=file, **TINY))
    from_file.initial_val_l1()
    assert "the file holds no discriminator" in capsys.readouterr().err
    assert same_weights(from_file.discriminator.state_dict(), fresh.discriminator.state_dict())

    wider_d = TrainConfig(data=image_folder, out=tmp_path / "w", gan_epochs=1, init_from=tmp_path / "l1" /
                          "checkpoints" / "last.pt", **{**TINY, "disc_filters": 16})
    trainer = Trainer(wider_d)
    trainer.initial_val_l1()
    assert "D starts fresh (the checkpoint's is patch" in capsys.readouterr().err
    assert same_weights(trainer.generator.state_dict(), stage_1["generator"])


def test_init_from_the_same_data_with_another_split_warns(image_folder, tmp_path):
    write_stage_1(image_folder, tmp_path / "l1")
    base = dict(data=image_folder, gan_epochs=1, init_from=tmp_path / "l1" / "checkpoints" / "last.pt", **TINY)
    with pytest.warns(UserWarning, match=r"another train/val split \(seed 0 -> 1\)"):
        Trainer(TrainConfig(out=tmp_path / "a", seed=1, **base)).initial_val_l1()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(TrainConfig(out=tmp_path / "b", seed=0, lr=1e-3, **base)).initial_val_l1()


def test_init_from_another_architecture_or_a_missing_file_fails_before_writing(image_folder, tmp_path):
    write_stage_1(image_folder, tmp_path / "l1")
    wrong = TrainConfig(data=image_folder, out=tmp_path / "x", generator="efficientnet_lite0", gan_epochs=1,
                        init_from=tmp_path / "l1" / "checkpoints" / "last.pt", **FAST)
    with pytest.raises(ValueError, match="holds a pix2pix_unet generator, but this run trains efficientnet_lite0"):
        Trainer(wrong).fit()
    with pytest.raises(FileNotFoundError, match="--init-from: no such file"):
        Trainer(dataclasses.replace(wrong, init_from=tmp_path / "missing.pt")).fit()
    mismatched = TrainConfig(data=image_folder, out=tmp_path / "y", gan_epochs=1,
                             init_from=tmp_path / "l1" / "checkpoints" / "last.pt", **{**TINY, "num_filters": 4})
    with pytest.raises(ValueError, match="weights do not fit a pix2pix_unet generator"):
        Trainer(mismatched).fit()
    assert not (tmp_path / "x").exists()


def test_a_colour_class_run_starts_from_a_regression_checkpoint_and_exports_a_working_model(image_folder, tmp_path):
    from colorize import Colorizer
    from colorize.models import load_model, predicts_classes

    encoder_unet = dict(TINY, generator="efficientnet_lite0", pretrained=False, num_downs=None, num_filters=None)
    Trainer(TrainConfig(data=image_folder, out=tmp_path / "l1", pretrain_epochs=1, gan_epochs=0,
                        **encoder_unet)).fit()
    config = TrainConfig(data=image_folder, out=tmp_path / "classes", gan_epochs=1, lambda_l1=1.0,
                         init_from=tmp_path / "l1" / "checkpoints" / "last.pt",
                         generator_option=("colour_classes=true",), **encoder_unet)
    result = Trainer(config).fit()
    saved = checkpoint(tmp_path / "classes")["generator"]
    assert "class_head.weight" in saved and "head.0.weight" not in saved
    with open(tmp_path / "classes" / "metrics.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["loss_G_L1"]) > 1.0  # the rebalanced cross-entropy (~ln 261 at the start), not an L1 of ~0.1
    model = load_model(result.generator_path)
    assert predicts_classes(model)
    out = Colorizer(model).colorize(torch.rand(40, 56, 3).mul(255).to(torch.uint8).numpy())
    assert out.size == (56, 40)
