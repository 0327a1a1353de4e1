"""Output naming, metadata-keeping saves, and runs where single files fail without stopping the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_photo

from colorize.folder import (
    colorize_files,
    file_jobs,
    folder_jobs,
    output_suffix,
    save_result,
)
from colorize.inference_options import InferenceOptions


class FakeColorizer:
    """Inverts the image; refuses images whose top-left pixel is pure white, to exercise failure handling."""

    name = "fake"
    options = InferenceOptions(batch_size=2)

    def __init__(self):
        self.batches: list[int] = []

    def _one(self, loaded):
        arr = loaded.rgb_array()
        if (arr[0, 0] == 255).all():
            raise RuntimeError("white corner")
        return Image.fromarray(255 - arr)

    def colorize(self, image):
        return self._one(image)

    def colorize_batch(self, images):
        self.batches.append(len(images))
        return [self._one(image) for image in images]


def test_output_suffix_rules():
    assert output_suffix(Path("a.JPEG"), "same") == ".jpeg"
    assert output_suffix(Path("a.tif"), "same") == ".png"
    assert output_suffix(Path("a.gif"), "same") == ".png"
    assert output_suffix(Path("a.png"), "jpg") == ".jpg"
    with pytest.raises(ValueError):
        output_suffix(Path("a.png"), "bmp")


def test_file_jobs(tmp_path):
    assert file_jobs(["x/a.png"], None) == [(Path("x/a.png"), Path("x/a_color.png"))]
    assert file_jobs(["a.png"], tmp_path / "b.jpg") == [(Path("a.png"), tmp_path / "b.jpg")]
    assert file_jobs(["a.png", "b.tif"], tmp_path / "o") == [
        (Path("a.png"), tmp_path / "o" / "a.png"), (Path("b.tif"), tmp_path / "o" / "b.png")]
    assert file_jobs(["a.png"], tmp_path) == [(Path("a.png"), tmp_path / "a.png")]
    with pytest.raises(ValueError, match="output format"):
        file_jobs(["a.png"], tmp_path / "b.bmp")
    with pytest.raises(ValueError, match="contradicts"):
        file_jobs(["a.png"], tmp_path / "b.png", fmt="jpg")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="folder"):
        file_jobs(["a.png", "b.png"], tmp_path / "file.png")
    with pytest.raises(ValueError, match="no input"):
        file_jobs([], None)
    photo = tmp_path / "p.png"  # `-o` naming the photo itself, or its own folder, must never replace it
    for output in (photo, tmp_path, f"{tmp_path}/"):
        with pytest.raises(ValueError, match="input photo itself"):
            file_jobs([photo], output)


def test_folder_jobs_mirror_the_tree(image_folder, tmp_path):
    jobs = folder_jobs(image_folder, tmp_path / "out", "webp")
    assert len(jobs) == 12
    assert (image_folder / "real" / "chelsea.jpg", tmp_path / "out" / "real" / "chelsea.webp") in jobs
    with pytest.raises(ValueError, match="differ"):
        folder_jobs(image_folder, image_folder)
    # The input folder may sit inside the output folder: every photo is still found.
    assert len(folder_jobs(image_folder, image_folder.parent, "webp")) == 12
    with pytest.raises(FileNotFoundError):
        folder_jobs(tmp_path / "missing", tmp_path / "out")


def test_save_result_formats_and_metadata(tmp_path):
    image = Image.fromarray(make_photo(0, (30, 40)))
    exif = Image.Exif()
    exif[0x010E] = "a caption"  # ImageDescription
    image.info["exif"] = exif.tobytes()
    for name, fmt in (("a.png", "PNG"), ("a.jpg", "JPEG"), ("a.webp", "WEBP")):
        saved = Image.open(save_result(image, tmp_path / "deep" / name))
        assert saved.format == fmt and saved.size == (40, 30)
        assert saved.getexif().get(0x010E) == "a caption"
    rgba = image.copy()
    rgba.putalpha(128)
    assert Image.open(save_result(rgba, tmp_path / "alpha.jpg")).mode == "RGB"
    assert not list(tmp_path.rglob("*.partial"))


def test_one_failure_does_not_stop_the_batch(tmp_path):
    jobs = []
    for i in range(5):
        arr = make_photo(i, (20, 24))
        if i == 2:
            arr[0, 0] = 255
        Image.fromarray(arr).save(tmp_path / f"{i}.png")
        jobs.append((tmp_path / f"{i}.png", tmp_path / "out" / f"{i}.png"))
    (tmp_path / "bad.png").write_bytes(b"nope")
    jobs.append((tmp_path / "bad.png", tmp_path / "out" / "bad.png"))
    jobs.append((tmp_path / "0.png", tmp_path / "out" / "0.png"))  # collides with the first job

    fake = FakeColorizer()
    report = colorize_files(fake, jobs, batch_size=3)
    assert sorted(p.name for p in report.done) == ["0.png", "1.png", "3.png", "4.png"]
    reasons = {p.name: r for p, r in report.failed}
    assert reasons["2.png"] == "RuntimeError: white corner"
    assert "not a recognised image" in reasons["bad.png"]
    assert "also the output of" in reasons["0.png"]
    assert not report.ok and "failed 3" in report.summary()
    assert fake.batches == [3, 2]  # the first batch failed as a whole and was redone one by one
    out = np.asarray(Image.open(tmp_path / "out" / "1.png"))
    np.testing.assert_array_equal(out, 255 - make_photo(1, (20, 24)))

    again = colorize_files(fake, jobs[:5], batch_size=3)
    assert len(again.skipped) == 4 and [p.name for p, _ in again.failed] == ["2.png"]
