"""Training runs end to end at tiny scale: outputs, exact resume (both stages), overfitting, bad input."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
from PIL import Image

from colorize.cli import main
from colorize.data import SkippedImageWarning
from colorize.train import TrainConfig, Trainer
from colorize.train.trainer import CSV_COLUMNS, LOSS_COLUMNS, make_sample_grid

# fp32 and the default memory format: at these toy sizes bf16 / channels_last conversions cost more than they save;
# one thread: on a shared 2-core machine two threads make tiny ops up to 100x slower (they wait for each other).
FAST = dict(precision="fp32", channels_last=False, num_threads=1, progress=False, tensorboard=False)
TINY = dict(generator="pix2pix_unet", num_downs=5, num_filters=8, disc_filters=8, size=32, batch_size=4, **FAST)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_cli_trains_two_epochs_and_writes_every_output(image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--data", str(image_folder), "--out", str(run), "--generator", "pix2pix_unet",
                 "--num-downs", "6", "--num-filters", "8", "--disc-filters", "8", "--size", "64", "--batch-size", "4",
                 "--gan-epochs", "2", "--no-progress", "--num-samples", "2", "--precision", "fp32",
                 "--no-channels-last", "--num-threads", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "10 train, 2 val" in out and "0 unreadable" in out and "epochs completed  2" in out

    rows = read_csv(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(LOSS_COLUMNS) <= set(rows[0]) and tuple(rows[0]) == CSV_COLUMNS
    for r in rows:
        assert r["stage"] == "gan"
        assert all(float(r[c]) > 0 for c in (*LOSS_COLUMNS, "val_l1", "images_per_s"))
        assert float(r["loss_D"]) == pytest.approx((float(r["loss_D_fake"]) + float(r["loss_D_real"])) / 2, 1e-4)
        assert float(r["loss_G"]) == pytest.approx(float(r["loss_G_GAN"]) + float(r["loss_G_L1"]), 1e-4)

    grid = Image.open(run / "samples" / "epoch_002.png")
    assert grid.size == (3 * 64 + 2 * 2, 2 * 64 + 2)  # gray | predicted | real, two photos

    ckpt = checkpoint(run)
    assert {"generator", "discriminator", "optimizer_G", "optimizer_D", "epoch", "step", "stage", "config", "rng",
            "arch", "generator_config"} <= ckpt.keys()
    assert (ckpt["epoch"], ckpt["step"], ckpt["stage"], ckpt["arch"]) == (2, 4, "gan", "pix2pix_unet")

    from colorize.models import load_model

    model = load_model(run / "generator.safetensors")
    assert_same_weights(model.state_dict(), ckpt["generator"])
    assert model(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)


def run_config(folder: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(data=folder, out=out, **{**TINY, **kw})


def test_resume_continues_exactly_across_both_stages(image_folder, tmp_path):
    """pretrain 1 + GAN 2 epochs straight == the same run stopped and resumed at an epoch end, and mid-epoch."""
    full = run_config(image_folder, tmp_path / "straight", pretrain_epochs=1, gan_epochs=2)
    Trainer(full).fit()

    # 2 epochs, then --resume with one more GAN epoch: continues at epoch 3.
    two = dataclasses.replace(full, out=tmp_path / "two", gan_epochs=1)
    Trainer(two).fit()
    assert checkpoint(tmp_path / "two")["epoch"] == 2
    result = Trainer(dataclasses.replace(full, out=tmp_path / "two", resume=True)).fit()
    assert result.epochs_completed == 3

    # Stopped (as by Ctrl-C) inside the pretrain epoch, resumed, stopped inside GAN epoch 2, resumed.
    def stop_at(step):
        return lambda trainer, s: trainer.request_stop() if s == step else None

    broken = dataclasses.replace(full, out=tmp_path / "broken")
    first = Trainer(broken, on_step=stop_at(1)).fit()
    assert first.interrupted and first.generator_path is None
    ckpt = checkpoint(tmp_path / "broken")
    assert (ckpt["epoch"], ckpt["batches_done"], ckpt["stage"]) == (0, 1, "pretrain")
    assert Trainer(dataclasses.replace(broken, resume=True), on_step=stop_at(3)).fit().interrupted
    ckpt = checkpoint(tmp_path / "broken")
    assert (ckpt["epoch"], ckpt["batches_done"], ckpt["stage"]) == (1, 1, "gan")
    Trainer(dataclasses.replace(broken, resume=True)).fit()

    reference = checkpoint(tmp_path / "straight")
    ref_rows = read_csv(tmp_path / "straight" / "metrics.csv")
    for name in ("two", "broken"):
        ckpt = checkpoint(tmp_path / name)
        assert ckpt["step"] == reference["step"] == 6
        assert_same_weights(ckpt["generator"], reference["generator"])
        assert_same_weights(ckpt["discriminator"], reference["discriminator"])
        rows = read_csv(tmp_path / name / "metrics.csv")
        assert [r["stage"] for r in rows] == ["pretrain", "gan", "gan"]
        for r, ref in zip(rows, ref_rows, strict=True):
            assert [r[c] for c in (*LOSS_COLUMNS, "val_l1")] == [ref[c] for c in (*LOSS_COLUMNS, "val_l1")]
    assert ref_rows[0]["loss_D"] == "" and float(ref_rows[0]["loss_G_L1"]) > 0  # no D in stage 1


def test_resume_takes_the_learning_rate_and_beta1_from_the_command_line(image_folder, tmp_path):
    first = run_config(image_folder, tmp_path / "run", pretrain_epochs=0, gan_epochs=1)
    Trainer(first).fit()
    seen = []
    resumed = dataclasses.replace(first, resume=True, gan_epochs=2, lr=5e-5, beta1=0.9)
    Trainer(resumed, on_step=lambda trainer, step: seen.append(
        {(g["lr"], g["betas"]) for opt in (trainer.opt_G, trainer.opt_D) for g in opt.param_groups})).fit()
    assert seen and all(groups == {(5e-5, (0.9, 0.999))} for groups in seen)


def test_ctrl_c_saves_a_checkpoint_mid_epoch(image_folder, tmp_path):
    import os
    import signal

    def press_ctrl_c(trainer, step):
        if step == 1:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN under a background shell
    result = Trainer(run_config(image_folder, tmp_path / "run", gan_epochs=2), on_step=press_ctrl_c).fit()
    assert result.interrupted and result.epochs_completed == 0
    ckpt = checkpoint(tmp_path / "run")
    assert (ckpt["epoch"], ckpt["batches_done"], ckpt["step"]) == (0, 1, 1)
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_overfitting_one_batch_with_l1(tmp_path):
    from conftest import SKIMAGE_PHOTOS, skimage_photo

    folder = tmp_path / "four"
    folder.mkdir()
    for name in SKIMAGE_PHOTOS:
        Image.fromarray(skimage_photo(name, 64)).save(folder / f"{name}.png")
    config = TrainConfig(data=folder, out=tmp_path / "run", generator="pix2pix_unet", num_downs=5, num_filters=16,
                         dropout=0.0, size=64, augment=False, batch_size=4, val_images=0, pretrain_epochs=35,
                         gan_epochs=0, pretrain_lr=2e-3, cache=False, **FAST,
                         sample_every=1000, keep_every=1000)
    Trainer(config).fit()
    l1 = [float(r["loss_G_L1"]) for r in read_csv(tmp_path / "run" / "metrics.csv")]
    assert len(l1) == 35
    assert l1[0] / min(l1[-3:]) >= 5.0, l1


def test_initial_val_l1_scores_the_seeded_untrained_generator_without_training(image_folder, tmp_path):
    config = TrainConfig(data=image_folder, out=tmp_path / "run", pretrain_epochs=1, gan_epochs=0, cache=False,
                         **TINY)
    first, again = Trainer(config).initial_val_l1(), Trainer(config).initial_val_l1()
    other_seed = Trainer(dataclasses.replace(config, seed=1)).initial_val_l1()
    assert first == again and other_seed != first
    assert 0.0 < first < 2.0  # a mean |ab| error in normalised units
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "metrics.csv").exists()


def test_unreadable_files_are_skipped_and_counted(image_folder, tmp_path, capsys):
    from test_data import write_bad_files

    write_bad_files(image_folder)
    with pytest.warns(SkippedImageWarning):
        code = main(["train", "--data", str(image_folder), "--out", str(tmp_path / "run"), "--generator",
                     "pix2pix_unet", "--num-downs", "5", "--num-filters", "8", "--disc-filters", "8", "--size", "32",
                     "--batch-size", "4", "--gan-epochs", "1", "--gan-mode", "lsgan", "--no-progress",
                     "--no-tensorboard", "--precision", "fp32", "--num-threads", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "photos found      15" in out and "3 unreadable" in out
    for name in ("truncated.jpg", "empty.jpg", "notes.jpg"):
        assert name in out


def test_empty_folder_fails_before_anything_starts(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "empty"), "--out", str(run)]) == 2
    assert "no image files found" in capsys.readouterr().err
    assert not run.exists()
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(run)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_bad_settings_are_clear_errors(image_folder, tmp_path):
    with pytest.raises(ValueError, match="multiple of 32"):
        Trainer(run_config(image_folder, tmp_path / "a", size=48)).fit()
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        Trainer(run_config(image_folder, tmp_path / "b", resume=True)).fit()
    with pytest.raises(ValueError, match="nothing to train"):
        Trainer(run_config(image_folder, tmp_path / "c", gan_epochs=0))
    with pytest.raises(ValueError, match="no encoder to freeze"):
        Trainer(run_config(image_folder, tmp_path / "d", freeze_encoder_epochs=1)).fit()
    with pytest.raises(ValueError, match="no training data"):
        Trainer(TrainConfig(out=tmp_path / "e"))
    for item in ("real", "real=0", "=2", "real=many"):
        with pytest.raises(ValueError, match="expected FOLDER=WEIGHT"):
            Trainer(run_config(image_folder, tmp_path / "f", folder_weight=(item,)))
    with pytest.raises(ValueError, match="folder weights name rael"):
        Trainer(run_config(image_folder, tmp_path / "g", folder_weight=("rael=3",))).fit()


def test_encoder_unet_two_stages_with_a_frozen_encoder(image_folder, tmp_path):
    from colorize.models import build_generator

    config = TrainConfig(data=image_folder, out=tmp_path / "run", generator="efficientnet_lite0", size=64,
                         batch_size=4, max_images=6, pretrain_epochs=1, gan_epochs=1, freeze_encoder_epochs=1,
                         disc_filters=8, keep_every=1, **FAST)
    result = Trainer(config).fit()
    assert result.epochs_completed == 2 and result.train_images == 5
    pretrained = {k: v for k, v in build_generator("efficientnet_lite0").state_dict().items()
                  if k.startswith("encoder.")}
    after_1 = torch.load(tmp_path / "run" / "checkpoints" / "epoch_001.pt", weights_only=True)["generator"]
    after_2 = checkpoint(tmp_path / "run")["generator"]
    assert all(torch.equal(after_1[k], v) for k, v in pretrained.items())  # frozen in epoch 1, BN stats too
    assert any(not torch.equal(after_2[k], v) for k, v in pretrained.items() if v.is_floating_point())
    assert [r["stage"] for r in read_csv(tmp_path / "run" / "metrics.csv")] == ["pretrain", "gan"]


def test_config_round_trips_and_drives_the_cli():
    config = TrainConfig(data="photos", generator_option=["upsample=\"pixelshuffle\""], size=128)
    assert isinstance(config.data, Path) and config.generator_option == ('upsample="pixelshuffle"',)
    assert TrainConfig.from_dict(config.to_dict()) == config
    from colorize.train.networks import generator_kwargs

    assert generator_kwargs(config) == {"pretrained": True, "upsample": "pixelshuffle"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        dataclasses.replace(config, generator_option=("nonsense",))


def test_sample_grid_layout():
    a, b, c = (torch.full((2, 3, 4, 5), v) for v in (0.0, 0.5, 1.0))
    grid = make_sample_grid(a, b, c, gap=1)
    assert grid.shape == (2 * 4 + 1, 3 * 5 + 2, 3)
    assert (grid[:4, :5] == 0).all() and (grid[:4, 6:11] == 128).all() and (grid[:4, 12:] == 255).all()
    assert (grid[4] == 255).all()  # the gap row


RANK_SCRIPT = """
import json, os, sys
import torch
from colorize.train import TrainConfig, Trainer

trainer = Trainer(TrainConfig.from_dict(json.loads(sys.argv[1])))
result = trainer.fit()
params = {k: v for k, v in trainer.generator.named_parameters()}
torch.save(params, os.path.join(sys.argv[2], f"rank{os.environ['RANK']}_G.pt"))
"""


def torchrun(script: Path, config: TrainConfig, results: Path) -> None:
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script),
           json.dumps(config.to_dict()), str(results)]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def test_torchrun_two_cpu_processes_train_in_lockstep_and_resume(image_folder, tmp_path):
    script = tmp_path / "rank_script.py"
    script.write_text(RANK_SCRIPT)
    results = tmp_path / "results"
    results.mkdir()
    config = run_config(image_folder, tmp_path / "run", gan_epochs=1)
    proc = torchrun(script, config, results)
    assert proc.stdout.count("training pix2pix_unet") == 1  # rank 0 alone logs

    g0, g1 = torch.load(results / "rank0_G.pt"), torch.load(results / "rank1_G.pt")
    assert_same_weights(g0, g1)
    ckpt = checkpoint(tmp_path / "run")
    assert (ckpt["epoch"], ckpt["world_size"], len(ckpt["rng"])) == (1, 2, 2)
    assert_same_weights({k: ckpt["generator"][k] for k in g0}, g0)
    assert len(read_csv(tmp_path / "run" / "metrics.csv")) == 1
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["epoch_001.pt", "last.pt"]

    proc = torchrun(script, dataclasses.replace(config, gan_epochs=2, resume=True), results)
    assert "resuming" in proc.stdout and "at epoch 2" in proc.stdout
    assert checkpoint(tmp_path / "run")["epoch"] == 2
    assert [r["epoch"] for r in read_csv(tmp_path / "run" / "metrics.csv")] == ["1", "2"]
    assert_same_weights(torch.load(results / "rank0_G.pt"), torch.load(results / "rank1_G.pt"))


def _small_run(image_folder, out, **overrides):
    from colorize.train import TrainConfig

    values = dict(data=image_folder, out=out, generator="pix2pix_unet", num_downs=5, num_filters=8, size=32,
                  batch_size=4, gan_epochs=2, precision="fp32", channels_last=False, num_threads=1, progress=False,
                  tensorboard=False)
    return TrainConfig(**{**values, **overrides})


def test_degraded_training_is_seeded_and_differs_from_clean(image_folder, tmp_path):
    from colorize.train import Trainer

    runs = {}
    for name, degrade in (("clean", False), ("degraded", True), ("degraded_again", True)):
        Trainer(_small_run(image_folder, tmp_path / name, degrade=degrade)).fit()
        runs[name] = torch.load(tmp_path / name / "checkpoints" / "last.pt", weights_only=True)["generator"]
    assert all(torch.equal(runs["degraded"][k], runs["degraded_again"][k]) for k in runs["degraded"])
    assert any(not torch.equal(runs["degraded"][k], runs["clean"][k]) for k in runs["clean"])


def test_cpu_budget_ends_the_run_and_exports_the_generator(image_folder, tmp_path):
    from colorize.train import Trainer

    result = Trainer(_small_run(image_folder, tmp_path / "run", gan_epochs=50, cpu_minutes=1e-6)).fit()
    assert not result.interrupted and result.generator_path is not None and result.generator_path.is_file()
    assert result.epochs_completed < 50
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["step"] == 1


def test_folder_weights_change_what_trains_not_the_split(image_folder, tmp_path, capsys):
    from colorize.train import Trainer

    plain = Trainer(_small_run(image_folder, tmp_path / "plain", gan_epochs=1))
    plain.fit()
    weighted = Trainer(_small_run(image_folder, tmp_path / "weighted", gan_epochs=1, folder_weight=("real=50",)))
    weighted.fit()
    assert "folders drawn real=50" in capsys.readouterr().out
    assert weighted.data.val.images.files == plain.data.val.images.files
    assert weighted.data.train_weights == [50.0 if f.parent.name == "real" else 1.0
                                          for f in weighted.data.train.images.files]
    a, b = checkpoint(tmp_path / "plain")["generator"], checkpoint(tmp_path / "weighted")["generator"]
    assert any(not torch.equal(a[k], b[k]) for k in a)  # other photos were drawn, so the weights moved otherwise
