"""InferenceOptions: one set of defaults for every command, and clear errors for bad values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from colorize.cli import build_parser
from colorize.cli._args import config_from_args
from colorize.cli.infer import FolderConfig, ImageConfig
from colorize.images import DEFAULT_MAX_PIXELS
from colorize.inference_options import InferenceOptions
from colorize.web.config import ServeConfig, env_overrides


def test_every_command_starts_from_the_same_defaults():
    defaults = InferenceOptions()
    assert (defaults.render_size, defaults.backend, defaults.batch_size) == (256, "auto", 4)
    assert DEFAULT_MAX_PIXELS == defaults.max_pixels
    parser = build_parser()
    image = config_from_args(ImageConfig, parser.parse_args(["image", "a.png"]))
    folder = config_from_args(FolderConfig, parser.parse_args(["folder", "in", "out"]))
    serve = config_from_args(ServeConfig, parser.parse_args(["serve"]), checkpoint=())
    assert image.inference == folder.inference == serve.inference == defaults
    assert ServeConfig().inference == defaults


def test_flags_reach_the_options_of_image_and_serve():
    parser = build_parser()
    flags = ["--render-size", "128", "--backend", "torch", "--max-pixels", "1000", "--threads", "1"]
    image = config_from_args(ImageConfig, parser.parse_args(["image", "a.png", *flags, "--checkpoint", "m.onnx"]))
    assert image.inference == InferenceOptions(checkpoint=Path("m.onnx"), render_size=128, backend="torch",
                                               max_pixels=1000, num_threads=1)
    serve = config_from_args(ServeConfig, parser.parse_args(["serve", *flags]), checkpoint=("a.pt",))
    assert serve.inference == InferenceOptions(render_size=128, backend="torch", max_pixels=1000, num_threads=1)
    assert serve.checkpoint == ("a.pt",) and serve.max_pixels == 1000 and serve.render_size == 128
    serve.max_pixels = 10  # the web app lowers it at run time
    assert serve.inference.max_pixels == 10


def test_serve_reads_the_options_from_the_environment(monkeypatch):
    monkeypatch.setenv("COLORIZE_RENDER_SIZE", "96")
    monkeypatch.setenv("COLORIZE_MAX_PIXELS", "5000")
    monkeypatch.setenv("COLORIZE_CHECKPOINT", "a.safetensors,b.pt")
    values = env_overrides(ServeConfig)
    assert values == {"checkpoint": ("a.safetensors", "b.pt"), "render_size": 96, "max_pixels": 5000}
    config = config_from_args(ServeConfig, build_parser().parse_args(["serve"]), checkpoint=values["checkpoint"])
    assert config.inference.render_size == 96 and config.inference.checkpoint is None


@pytest.mark.parametrize("values, message", [
    ({"render_size": 100}, "multiple of 32"), ({"render_size": 0}, "multiple of 32"),
    ({"backend": "cuda"}, "backend"), ({"precision": "fp16"}, "precision"),
    ({"backend": "onnx", "precision": "bf16"}, "fp32 only"), ({"saturation": -0.5}, "saturation"),
    ({"batch_size": 0}, "batch_size"), ({"num_threads": -1}, "num_threads"), ({"max_pixels": 0}, "max_pixels"),
])
def test_bad_values_are_clear_errors(values, message):
    with pytest.raises(ValueError, match=message):
        InferenceOptions(**values)


def test_options_are_immutable_values():
    options = InferenceOptions(checkpoint="runs/a/generator.safetensors", backend=None)
    assert options.checkpoint == Path("runs/a/generator.safetensors") and options.backend == "auto"
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.render_size = 512
    assert dataclasses.replace(options, render_size=512).render_size == 512
    assert hash(options) == hash(InferenceOptions(checkpoint=Path("runs/a/generator.safetensors")))
