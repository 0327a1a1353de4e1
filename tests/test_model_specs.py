"""Model specs: one parser and one naming rule for every command that loads several models."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorize.model_specs import ModelSpec, load_model_spec, load_models, parse_model_spec, unique_names


def test_parse_plain_and_named_specs(tmp_path: Path):
    assert parse_model_spec("gray") == ModelSpec("gray")
    assert parse_model_spec("floor=mean-ab") == ModelSpec("mean-ab", "floor")
    assert parse_model_spec("a=runs/a/generator.safetensors") == ModelSpec("runs/a/generator.safetensors", "a")
    odd = tmp_path / "lr=1e-4.safetensors"
    odd.write_bytes(b"")
    assert parse_model_spec(odd) == ModelSpec(str(odd))  # an existing file's '=' is part of its name
    assert parse_model_spec("gray").is_baseline and not parse_model_spec("default").is_baseline
    for bad in ("=gray", "runs/a=b.safetensors", "name="):
        with pytest.raises(ValueError, match="NAME=PATH"):
            parse_model_spec(bad)


def test_one_naming_rule_suffixes_repeats_in_order():
    assert unique_names(["a", "b", "a", "a"]) == ["a", "b", "a-2", "a-3"]
    assert unique_names(["a-2", "a", "a"]) == ["a-2", "a", "a-3"]  # never reuses a name already taken


def test_load_models_names_baselines_and_keeps_the_spec_as_source():
    colorizers, sources = load_models(["gray", "gray", "warm=mean-ab"])
    assert [c.name for c in colorizers] == ["gray", "gray-2", "warm"]
    assert sources == {"gray": "gray", "gray-2": "gray", "warm": "warm=mean-ab"}


def test_a_missing_checkpoint_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="neither a checkpoint file nor one of default, gray, mean-ab"):
        load_model_spec(ModelSpec(str(tmp_path / "missing.safetensors")))


def test_models_run_with_the_inference_options_and_baselines_stay_constant(tmp_path: Path):
    from colorize.inference_options import InferenceOptions
    from colorize.models import build_generator, save_generator

    path = tmp_path / "tiny.safetensors"
    save_generator(build_generator("pix2pix_unet", num_downs=5, num_filters=8), path)
    options = InferenceOptions(checkpoint=tmp_path / "ignored.safetensors", render_size=64, batch_size=2)
    (model, gray), _ = load_models([str(path), "gray"], options=options)
    assert model.checkpoint == path and model.options.render_size == 64 and model.options.batch_size == 2
    assert gray.ab == (0.0, 0.0)
