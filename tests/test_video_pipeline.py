import numpy as np
import pytest

from colorize.infer import Colorizer
from colorize.inference_options import InferenceOptions
from colorize.video import VideoConfig, VideoError, colorize_video
from infer_support import tiny_generator
from video_support import clip_frames, make_clip, read_video


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(tiny_generator(), backend="torch", render_size=64)


def _gray(frames):
    return [np.repeat(frame.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2) for frame in frames]


def _run(colorizer, source, output, **options):
    config = VideoConfig(input=source, output=output, progress=False, preset="ultrafast", **options)
    return colorize_video(config, colorizer=colorizer)


def test_video_comes_out_coloured_with_its_lightness_time_stamps_and_audio(tmp_path, colorizer):
    frames = _gray(clip_frames(7))
    pts = [0, 100, 150, 300, 420, 500, 900]
    source = make_clip(tmp_path / "old.mp4", frames, pts=pts, audio="aac")
    report = _run(colorizer, source, tmp_path / "colour.mp4")
    assert (report.frames, report.audio) == (7, "copied (aac)")
    before, after = read_video(source), read_video(tmp_path / "colour.mp4")
    assert after["times"] == before["times"] == [p / 1000 for p in pts]
    assert after["streams"] == {"video": "h264", "audio": "aac"}
    assert after["audio_seconds"] == pytest.approx(before["audio_seconds"], abs=0.05)
    for gray, coloured in zip(before["frames"], after["frames"]):
        assert coloured.shape == gray.shape
        assert np.abs(coloured.astype(float).mean(axis=2) - gray.mean(axis=2)).mean() < 12  # same lightness
        assert np.abs(coloured[..., 0].astype(float) - coloured[..., 2]).mean() > 3  # and now colour


def test_rotated_phone_video_comes_out_upright(tmp_path, colorizer):
    frames = _gray(clip_frames(3))
    source = make_clip(tmp_path / "phone.mov", frames, rotation=-90)
    _run(colorizer, source, tmp_path / "upright.mkv")
    out = read_video(tmp_path / "upright.mkv")
    assert out["rotation"] == 0
    assert out["frames"][0].shape == (64, 48, 3)
    expected = np.rot90(frames[0], -1).mean(axis=2)
    assert np.abs(out["frames"][0].mean(axis=2) - expected).mean() < 12


def test_video_without_audio(tmp_path, colorizer):
    report = _run(colorizer, make_clip(tmp_path / "silent.mp4", clip_frames(3)), tmp_path / "out.mp4")
    assert report.audio == "none"
    assert read_video(tmp_path / "out.mp4")["streams"] == {"video": "h264"}


def test_start_and_duration(tmp_path, colorizer):
    source = make_clip(tmp_path / "long.mkv", clip_frames(30), rate=10, audio="aac")
    report = _run(colorizer, source, tmp_path / "part.mkv", start=1.0, duration=0.5)
    out = read_video(tmp_path / "part.mkv")
    assert report.frames == 5
    assert out["times"] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert out["audio_seconds"] == pytest.approx(0.5, abs=0.2)


class _InterruptedColorizer:
    """Passes `batches` batches to the real colorizer, then raises KeyboardInterrupt as Ctrl-C would."""

    def __init__(self, colorizer, batches: int):
        self.colorizer, self.batches = colorizer, batches

    def predict_ab(self, images):
        if self.batches == 0:
            raise KeyboardInterrupt
        self.batches -= 1
        return self.colorizer.predict_ab(images)


def test_ctrl_c_keeps_a_playable_partial_video(tmp_path, colorizer):
    source = make_clip(tmp_path / "in.mp4", clip_frames(12), audio="aac")
    with pytest.raises(KeyboardInterrupt):
        _run(_InterruptedColorizer(colorizer, batches=2), source, tmp_path / "out.mp4")
    out = read_video(tmp_path / "out.mp4")
    assert len(out["frames"]) == 2 * InferenceOptions().batch_size  # the batches done before Ctrl-C
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_ctrl_c_before_any_frame_leaves_no_file(tmp_path, colorizer):
    source = make_clip(tmp_path / "in.mp4", clip_frames(6))
    with pytest.raises(KeyboardInterrupt):
        _run(_InterruptedColorizer(colorizer, batches=0), source, tmp_path / "out.mp4")
    assert [path.name for path in tmp_path.iterdir()] == ["in.mp4"]


def test_bad_input_writes_nothing(tmp_path, colorizer):
    source = make_clip(tmp_path / "cut.mkv", clip_frames(30))
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])  # the frames stop half way: found only after decoding them all
    with pytest.raises(VideoError, match="truncated"):
        _run(colorizer, source, tmp_path / "out.mp4")
    assert [path.name for path in tmp_path.iterdir()] == ["cut.mkv"]


def test_existing_output_and_input_as_output_are_refused(tmp_path, colorizer):
    source = make_clip(tmp_path / "in.mp4", clip_frames(2))
    (tmp_path / "out.mp4").write_bytes(b"keep me")
    with pytest.raises(ValueError, match="--overwrite"):
        _run(colorizer, source, tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == b"keep me"
    with pytest.raises(ValueError, match="overwrite the input"):
        _run(colorizer, source, source, overwrite=True)


@pytest.mark.parametrize("options, message", [({"start": -1.0}, "start"), ({"duration": 0.0}, "duration"),
                                              ({"crf": 60}, "crf")])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        VideoConfig(input="a.mp4", output="b.mp4", **options)
