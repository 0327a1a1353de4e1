"""The training data pipeline: split, scan (corrupt / gray files), cache, augmentation, sampler, batch conversion."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import data as data_mod
from colorize.data import (
    EpochSampler,
    PhotoDataset,
    SkippedImageWarning,
    SquareImages,
    batch_to_model_space,
    folder_sampling_weights,
    prepare_data,
    resize_square,
    split_files,
)
from colorize.lab import rgb_to_model_space, uint8_to_tensor
from conftest import make_photo


def fake_files(n: int) -> list[Path]:
    return [Path(f"/photos/img_{i:05d}.jpg") for i in range(n)]


# ---------------------------------------------------------------------------------------------------- split


def test_design_split_of_ten_thousand():
    split = split_files(fake_files(12_000), seed=3)
    assert (len(split.train), len(split.val)) == (8_000, 2_000)
    assert not set(split.train) & set(split.val)


def test_split_is_deterministic_and_seeded():
    files = fake_files(50)
    a, b = split_files(files, seed=1), split_files(list(reversed(files)), seed=1)
    assert a == b  # depends on the names, not the order they were listed in
    assert split_files(files, seed=2).val != a.val


def test_small_folders_keep_a_fifth_for_val():
    split = split_files(fake_files(200))
    assert (len(split.train), len(split.val)) == (160, 40)
    assert len(split_files(fake_files(3)).val) == 1  # at least one val photo
    assert len(split_files(fake_files(1)).val) == 0
    assert len(split_files(fake_files(50), val_images=0).val) == 0


def test_counts_are_configurable():
    split = split_files(fake_files(100), max_images=30, val_images=4)
    assert (len(split.train), len(split.val)) == (26, 4)


def test_separate_val_folder():
    split = split_files(fake_files(10), val_files=[Path(f"/val/{i}.jpg") for i in range(5)], val_images=3)
    assert len(split.train) == 10 and len(split.val) == 3
    assert all(str(p).startswith("/val/") for p in split.val)
    # A val folder inside the training folder: its photos are found by the training search too, but never train.
    val_files = [Path(f"/data/val/{i}.jpg") for i in range(5)]
    split = split_files(fake_files(10) + val_files, val_files=val_files, val_images=3)
    assert len(split.train) == 10 and not set(split.train) & set(val_files)


def test_bad_counts_are_errors():
    with pytest.raises(ValueError, match="max_images"):
        split_files(fake_files(3), max_images=0)
    with pytest.raises(ValueError, match="val_fraction"):
        split_files(fake_files(3), val_fraction=1.5)


# ---------------------------------------------------------------------------------------------------- folders


def write_photos(folder: Path, n: int, size=(40, 56)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"photo_{i}.png"
        Image.fromarray(make_photo(100 + i, size)).save(p)
        paths.append(p)
    return paths


def write_bad_files(folder: Path) -> None:
    buf = folder / "truncated.jpg"
    Image.fromarray(make_photo(7, (64, 64))).save(buf, quality=90)
    buf.write_bytes(buf.read_bytes()[: buf.stat().st_size // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a picture\n")


def test_resize_square_takes_the_centre_of_the_short_side_resize():
    img = Image.fromarray(make_photo(1, (40, 80)))  # h=40, w=80
    square = resize_square(img, 20)
    assert square.shape == (20, 20, 3) and square.dtype == np.uint8
    expected = np.asarray(img.resize((40, 20), Image.BICUBIC))[:, 10:30]
    assert np.array_equal(square, expected)


def test_corrupt_files_are_skipped_with_one_warning_each(tmp_path):
    write_photos(tmp_path, 3)
    write_bad_files(tmp_path)
    with pytest.warns(SkippedImageWarning) as record:
        images = SquareImages(sorted(tmp_path.iterdir()), 24)
    assert len(images) == 3
    assert sorted(p.name for p, _ in images.scan.skipped) == ["empty.jpg", "notes.jpg", "truncated.jpg"]
    assert len([w for w in record if issubclass(w.category, SkippedImageWarning)]) == 3


def test_grayscale_photos_are_skipped(tmp_path):
    write_photos(tmp_path, 2)
    gray = make_photo(5, (32, 32)).mean(axis=2).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray_L.png")
    Image.fromarray(np.stack([gray] * 3, axis=2)).save(tmp_path / "gray_rgb.jpg")
    images = SquareImages(sorted(tmp_path.iterdir()), 24)
    assert len(images) == 2
    assert sorted(p.name for p in images.scan.grayscale) == ["gray_L.png", "gray_rgb.jpg"]
    assert images.scan.skipped == []


def test_other_modes_are_read(tmp_path):
    rgb = make_photo(9, (30, 30))
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "palette.png")
    rgba = np.dstack([rgb, np.full((30, 30), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.webp")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.tif")
    images = SquareImages(sorted(tmp_path.iterdir()), 16)
    assert len(images) == 3 and images[0].shape == (16, 16, 3)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        prepare_data(tmp_path / "missing", size=32)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no photos here")
    with pytest.raises(ValueError, match="no image files"):
        prepare_data(tmp_path / "empty", size=32)
    bad = tmp_path / "bad"
    bad.mkdir()
    write_bad_files(bad)
    with pytest.raises(ValueError, match="none of the .* usable"), warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedImageWarning)
        prepare_data(bad, size=32)


# ---------------------------------------------------------------------------------------------------- cache


def test_cache_gives_identical_batches_and_skips_decoding(tmp_path, monkeypatch):
    files = write_photos(tmp_path / "photos", 5)
    plain = PhotoDataset(SquareImages(files, 36), 32, train=True, seed=4)
    cached = PhotoDataset(SquareImages(files, 36, cache_dir=tmp_path / "cache"), 32, train=True, seed=4)
    assert cached.images.cache_path is not None and cached.images.cache_path.is_file()
    for epoch in (1, 2):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(5):
            assert torch.equal(plain[i], cached[i])

    # A second dataset over the same files reads the cache: no file is decoded again.
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a file although the cache holds it")

    monkeypatch.setattr(data_mod, "decode_square", no_decoding)
    again = PhotoDataset(SquareImages(files, 36, cache_dir=tmp_path / "cache"), 32, train=True, seed=4)
    again.set_epoch(2)
    assert torch.equal(again[3], cached[3])


def test_cache_key_changes_with_size_and_files(tmp_path):
    files = write_photos(tmp_path / "photos", 3)
    a = SquareImages(files, 20, cache_dir=tmp_path / "cache")
    b = SquareImages(files, 24, cache_dir=tmp_path / "cache")
    c = SquareImages(files[:2], 20, cache_dir=tmp_path / "cache")
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    assert len(c) == 2


def test_cache_remembers_skipped_files(tmp_path):
    folder = tmp_path / "photos"
    write_photos(folder, 2)
    write_bad_files(folder)
    files = sorted(folder.iterdir())
    with pytest.warns(SkippedImageWarning):
        SquareImages(files, 20, cache_dir=tmp_path / "cache")
    with pytest.warns(SkippedImageWarning):  # still reported on reuse, for the run summary
        again = SquareImages(files, 20, cache_dir=tmp_path / "cache")
    assert len(again) == 2 and len(again.scan.skipped) == 3


# ---------------------------------------------------------------------------------------------------- augmentation


def test_train_augmentation_is_seeded_by_epoch_and_index(tmp_path):
    files = write_photos(tmp_path, 4, size=(48, 48))
    ds = PhotoDataset(SquareImages(files, 40), 32, train=True, seed=0)
    ds.set_epoch(1)
    first = [ds[i] for i in range(4)]
    assert all(torch.equal(a, ds[i]) for i, a in enumerate(first))  # repeatable
    views = set()
    for epoch in range(1, 9):
        ds.set_epoch(epoch)
        views.add(ds[0].numpy().tobytes())
    assert len(views) > 2  # crops and flips differ between epochs


def test_random_flip_mirrors_a_crop(tmp_path):
    files = write_photos(tmp_path, 1, size=(32, 32))
    ds = PhotoDataset(SquareImages(files, 32), 32, train=True, seed=0)  # no crop margin: only flips
    seen = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        seen.add(ds[0].numpy().tobytes())
    original = resize_square(Image.open(files[0]).convert("RGB"), 32)
    assert seen == {original.tobytes(), original[:, ::-1].copy().tobytes()}


def test_val_is_the_deterministic_centre(tmp_path):
    files = write_photos(tmp_path, 2, size=(50, 60))
    ds = PhotoDataset(SquareImages(files, 40), 32, train=False)
    ds.set_epoch(5)
    square = resize_square(Image.open(files[1]).convert("RGB"), 40)
    assert torch.equal(ds[1], torch.from_numpy(square[4:36, 4:36].copy()))


def test_crop_larger_than_images_is_an_error(tmp_path):
    files = write_photos(tmp_path, 1)
    with pytest.raises(ValueError, match="larger"):
        PhotoDataset(SquareImages(files, 16), 32, train=True)


# ---------------------------------------------------------------------------------------------------- sampler


def test_sampler_is_seeded_per_epoch_and_resumable():
    s = EpochSampler(10, seed=3)
    s.set_epoch(1)
    e1 = list(s)
    assert sorted(e1) == list(range(10))
    s.set_epoch(2)
    assert list(s) != e1
    s.set_epoch(1, start=4)
    assert list(s) == e1[4:] and len(s) == 6


def test_sampler_splits_an_epoch_between_ranks():
    ranks = [EpochSampler(11, seed=0, num_replicas=3, rank=r) for r in range(3)]
    for s in ranks:
        s.set_epoch(7)
    parts = [list(s) for s in ranks]
    assert all(len(p) == 4 for p in parts)  # padded to equal length
    assert set().union(*parts) == set(range(11))


def test_weighted_sampler_draws_in_proportion_seeded_and_resumable():
    weights = [8.0] * 10 + [1.0] * 90  # 80 of 170 units: the first ten photos should be ~47 % of the draws
    s = EpochSampler(100, seed=5, weights=weights)
    draws = []
    for epoch in range(1, 21):
        s.set_epoch(epoch)
        draws += list(s)
    assert len(draws) == 2000 and set(draws) <= set(range(100))
    share = sum(i < 10 for i in draws) / len(draws)
    assert 0.42 < share < 0.52
    s.set_epoch(3)
    e3 = list(s)
    s.set_epoch(3, start=40)
    assert list(s) == e3[40:] and len(s) == 60
    with pytest.raises(ValueError, match="3 sampling weights for 4"):
        EpochSampler(4, weights=[1.0, 2.0, 3.0])


def test_folder_weights_go_by_the_top_level_subfolder(tmp_path):
    root = tmp_path / "data"
    files = [root / "natural" / "a.jpg", root / "natural" / "deep" / "b.jpg", root / "objects" / "c.jpg",
             root / "loose.jpg"]
    assert folder_sampling_weights(files, root, {"natural": 8.0}) == [8.0, 8.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="naturl.*natural, objects"):
        folder_sampling_weights(files, root, {"naturl": 8.0})


def test_prepare_data_weights_train_photos_by_folder_from_a_cache_written_elsewhere(image_folder, tmp_path):
    cache = tmp_path / "cache"
    link = tmp_path / "linked-photos"
    link.symlink_to(image_folder)
    prepare_data(link, size=32, seed=0, cache_dir=cache)  # the cache, written with the link's paths
    data = prepare_data(image_folder, size=32, seed=0, cache_dir=cache, folder_weights={"real": 5.0})
    assert all(Path(f).is_relative_to(image_folder) for f in data.train.images.files)  # this caller's spelling
    expected = [5.0 if Path(f).parent.name == "real" else 1.0 for f in data.train.images.files]
    assert data.train_weights == expected and 5.0 in expected and 1.0 in expected
    assert prepare_data(image_folder, size=32, seed=0, cache_dir=cache).train_weights is None


# ---------------------------------------------------------------------------------------------------- batches


def test_batch_conversion_matches_lab_module():
    batch = torch.from_numpy(np.stack([make_photo(i, (16, 16)) for i in range(3)]))
    l_norm, ab = batch_to_model_space(batch, channels_last=True)
    assert l_norm.shape == (3, 1, 16, 16) and ab.shape == (3, 2, 16, 16)
    assert l_norm.is_contiguous(memory_format=torch.channels_last)
    ref_l, ref_ab = rgb_to_model_space(uint8_to_tensor(batch))
    assert torch.allclose(l_norm, ref_l) and torch.allclose(ab, ref_ab)
    assert l_norm.min() >= -1 and l_norm.max() <= 1 and ab.abs().max() <= 1


def test_prepare_data_splits_and_reports(image_folder, tmp_path):
    data = prepare_data(image_folder, size=32, seed=0, cache_dir=tmp_path / "cache")
    assert data.files_found == 12
    assert (len(data.train), len(data.val)) == (10, 2)
    assert data.train[0].shape == (32, 32, 3) and data.train[0].dtype == torch.uint8
    assert data.train.images.side == 36  # crops come from a 1.125x larger square
    again = prepare_data(image_folder, size=32, seed=0, cache_dir=tmp_path / "cache")
    assert again.val.images.files == data.val.images.files
