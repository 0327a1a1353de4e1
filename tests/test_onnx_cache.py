"""The cache of exported ONNX graphs: keyed by the weights, reused, never required to be writable."""

from __future__ import annotations

import pytest
import torch

from infer_support import tiny_generator

from colorize import onnx_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def test_key_follows_the_weights():
    model = tiny_generator(seed=0)
    assert onnx_cache.weights_key(model) == onnx_cache.weights_key(tiny_generator(seed=0))
    assert onnx_cache.weights_key(model) != onnx_cache.weights_key(tiny_generator(seed=1))
    assert onnx_cache.weights_key(model) != onnx_cache.weights_key(model, opset=18)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-6  # one weight, slightly changed
    assert onnx_cache.weights_key(model) != onnx_cache.weights_key(tiny_generator(seed=0))


def test_second_use_reads_the_cache_instead_of_exporting(cache, monkeypatch):
    model = tiny_generator()
    first = onnx_cache.cached_onnx_bytes(model)
    assert [p.name for p in cache.iterdir()] == [f"{onnx_cache.weights_key(model)}.onnx"]

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_cache, "export_onnx_bytes", no_export)
    assert onnx_cache.cached_onnx_bytes(model) == first


def test_an_unwritable_cache_only_costs_a_new_export(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(onnx_cache.CACHE_DIR_ENV, str(blocker))
    data = onnx_cache.cached_onnx_bytes(tiny_generator())
    assert data.startswith(b"\x08")  # an ONNX ModelProto (field 1, ir_version)
    assert blocker.read_text().startswith("a file")


def test_old_graphs_are_pruned(cache, monkeypatch):
    monkeypatch.setattr(onnx_cache, "KEEP_GRAPHS", 2)
    for seed in range(3):
        onnx_cache.cached_onnx_bytes(tiny_generator(seed=seed))
    assert len(list(cache.glob("*.onnx"))) == 2
    assert not list(cache.glob(".*partial"))


def test_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(onnx_cache.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert onnx_cache.cache_dir() == tmp_path / "colorize" / "onnx"
