from fractions import Fraction

import av
import numpy as np
import pytest

from colorize.video.writer import VideoWriter
from video_support import clip_frames, make_clip, read_video

ENCODING = {"crf": 12, "preset": "ultrafast"}


def _writer(path, audio=None, size=(64, 48)):
    return VideoWriter(path, width=size[0], height=size[1], time_base=Fraction(1, 1000), frame_rate=Fraction(10),
                       audio=audio, **ENCODING)


def test_frames_are_written_at_their_time_stamps_on_commit(tmp_path):
    out = tmp_path / "out.mp4"
    writer = _writer(out)
    pts = [0, 40, 100, 260, 300]
    for rgb, stamp in zip(clip_frames(len(pts)), pts):
        writer.write_frame(rgb, stamp)
    assert not out.exists()  # only the temporary file so far
    assert writer.commit() == out
    video = read_video(out)
    assert video["times"] == [p / 1000 for p in pts]
    assert video["frames"][0].shape == (48, 64, 3)
    assert list(tmp_path.iterdir()) == [out]


def test_odd_sizes_lose_their_last_row_and_column(tmp_path):
    writer = _writer(tmp_path / "odd.mkv", size=(63, 47))
    writer.write_frame(np.zeros((47, 63, 3), np.uint8), 0)
    assert read_video(writer.commit())["frames"][0].shape == (46, 62, 3)


def test_abort_leaves_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    writer = _writer(out)
    writer.write_frame(clip_frames(1)[0], 0)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source, codec, output, mode, out_codec", [
    ("in.mp4", "aac", "out.mp4", "copied (aac)", "aac"),
    ("in.mkv", "pcm_u8", "out.mkv", "copied (pcm_u8)", "pcm_u8"),
    ("in.mkv", "pcm_u8", "out.mp4", "re-encoded (pcm_u8 -> aac)", "aac"),  # MP4 cannot hold 8-bit PCM
])
def test_audio_is_copied_or_reencoded_where_the_container_cannot_hold_it(tmp_path, source, codec, output, mode,
                                                                         out_codec):
    source = make_clip(tmp_path / source, clip_frames(10), audio=codec)
    with av.open(str(source)) as container:
        writer = _writer(tmp_path / output, audio=container.streams.audio[0])
        for packet in container.demux(audio=0):
            if packet.pts is not None:
                writer.write_audio(packet)
        writer.write_frame(clip_frames(1)[0], 0)
        writer.commit()
    assert writer.audio_mode == mode
    video = read_video(tmp_path / output)
    assert video["streams"]["audio"] == out_codec
    assert video["audio_seconds"] == pytest.approx(1.0, abs=0.15)


def test_unknown_container_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must end in one of"):
        _writer(tmp_path / "out.avi")
