from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from colorize.video.reader import DecodedFrame, VideoError, VideoReader
from video_support import clip_frames, make_clip


def _frames(reader: VideoReader, **window) -> list[DecodedFrame]:
    return [item for item in reader.demux(**window) if isinstance(item, DecodedFrame)]


def test_frames_come_with_their_own_time_stamps(tmp_path):
    pts = [0, 40, 100, 260, 300, 900]  # variable frame rate
    path = make_clip(tmp_path / "vfr.mp4", clip_frames(len(pts)), pts=pts)
    with VideoReader(path) as reader:
        frames = _frames(reader)
    assert [round(frame.time, 3) for frame in frames] == [p / 1000 for p in pts]
    assert [frame.pts * reader.info.time_base for frame in frames] == [Fraction(p, 1000) for p in pts]
    assert frames[0].rgb.shape == (48, 64, 3) and frames[0].rgb.dtype == np.uint8


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_video_is_read_upright(tmp_path, rotation):
    frames = clip_frames(2)
    path = make_clip(tmp_path / "phone.mp4", frames, rotation=rotation)
    with VideoReader(path) as reader:
        upright = _frames(reader)[0].rgb
    expected, upside_down = np.rot90(frames[0], rotation // 90), np.rot90(frames[0], rotation // 90 + 2)
    assert upright.shape == expected.shape

    def gray_error(target):  # gray: H.264 subsamples the colour, and this photo is very colourful
        return np.abs(upright.mean(axis=2) - target.mean(axis=2)).mean()

    assert gray_error(expected) < 3 < 5 * gray_error(expected) < gray_error(upside_down)


def test_start_and_duration_select_a_window_counted_from_zero(tmp_path):
    path = make_clip(tmp_path / "clip.mp4", clip_frames(20), rate=10, audio="aac")
    with VideoReader(path) as reader:
        items = list(reader.demux(start=0.5, duration=0.8))
    frames = [item for item in items if isinstance(item, DecodedFrame)]
    assert [round(frame.time, 3) for frame in frames] == [round(0.1 * i, 3) for i in range(8)]
    audio = [item for item in items if not isinstance(item, DecodedFrame)]
    audio_times = [float(packet.pts * packet.time_base) for packet in audio]
    assert audio and min(audio_times) > -0.2 and max(audio_times) < 0.8


def test_video_without_audio(tmp_path):
    with VideoReader(make_clip(tmp_path / "silent.mkv", clip_frames(3))) as reader:
        assert reader.audio is None and reader.info.audio_codec is None
        assert len(_frames(reader)) == 3


def _audio_only(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _truncated(path):
    make_clip(path, clip_frames(10))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupted(path):
    make_clip(path, clip_frames(20, size=(128, 96)))
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def _empty_track(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: (p.write_text("hello, not a video"), p)[1], "not a readable video"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty"),
    (lambda p: p, "no such file"),
    (lambda p: (Image.new("RGB", (32, 32), "red").save(p, format="PNG"), p)[1], "is an image"),
    (_audio_only, "no video stream"),
    (_truncated, "not a readable video|truncated|corrupt"),
    (_corrupted, "corrupt or truncated"),
    (_empty_track, "no video frames|not a readable video|picture size"),
])
def test_unusable_files_raise_a_clear_error(tmp_path, make, message):
    path = make(tmp_path / "input.mkv" if make in (_audio_only, _empty_track) else tmp_path / "input.mp4")
    with pytest.raises(VideoError, match=message):
        with VideoReader(path) as reader:
            _frames(reader)


def test_truncated_matroska_is_reported(tmp_path):
    path = make_clip(tmp_path / "cut.mkv", clip_frames(30))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still promises 3 s
    with pytest.raises(VideoError, match="truncated|corrupt"):
        with VideoReader(path) as reader:
            _frames(reader)


def test_window_after_the_end_has_no_frames(tmp_path):
    with VideoReader(make_clip(tmp_path / "short.mp4", clip_frames(3))) as reader:
        with pytest.raises(VideoError, match="no video frames from 5 s"):
            _frames(reader, start=5.0)


def test_absurd_resolution_is_refused_before_decoding(tmp_path):
    path = make_clip(tmp_path / "big.mp4", clip_frames(2))
    with pytest.raises(VideoError, match="64x48 is not a size"):
        VideoReader(path, max_pixels=1000)
