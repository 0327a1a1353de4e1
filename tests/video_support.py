"""Helpers shared by the video tests: tiny clips written with PyAV, and reading a video back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from conftest import make_photo


def clip_frames(count: int, size: tuple[int, int] = (64, 48), seed: int = 0) -> list[np.ndarray]:
    """`count` (h, w, 3) uint8 frames of a colourful photo panning right by 2 pixels a frame."""
    width, height = size
    photo = make_photo(seed, (height, width + 2 * count))
    return [np.ascontiguousarray(photo[:, 2 * i : 2 * i + width]) for i in range(count)]


def make_clip(path: Path, frames: list[np.ndarray], *, pts: list[int] | None = None,
              time_base: Fraction = Fraction(1, 1000), rate: int = 10, rotation: int = 0,
              audio: str | None = None, audio_seconds: float | None = None) -> Path:
    """Encode `frames` to `path` (H.264, container from the suffix) at `pts` (default: every 1/rate s).

    rotation: display-matrix rotation in degrees, counter-clockwise. audio: an audio encoder name (e.g. "aac",
    "pcm_u8") for a mono 8 kHz tone as long as the video (or `audio_seconds`).
    """
    pts = pts if pts is not None else [round(i / rate / time_base) for i in range(len(frames))]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height = frames[0].shape[1], frames[0].shape[0]
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        video.options = {"crf": "12", "preset": "ultrafast"}
        if rotation:
            video.set_display_rotation(rotation)
        sound = container.add_stream(audio, rate=8000, layout="mono") if audio else None
        for rgb, stamp in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = audio_seconds if audio_seconds is not None else float((pts[-1] + 1) * time_base)
            _write_tone(container, sound, seconds)
    return path


def _write_tone(container, sound, seconds: float) -> None:
    samples = int(8000 * seconds)
    tone = 0.3 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 8000)
    fmt = sound.codec_context.format.name
    chunk = 800
    for start in range(0, samples, chunk):
        part = tone[start : start + chunk][None]
        data = (part * 100 + 128).astype(np.uint8) if fmt == "u8" else part.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 8000, start, Fraction(1, 8000)
        container.mux(sound.encode(frame))
    container.mux(sound.encode(None))


def read_video(path: Path) -> dict:
    """What a test checks of a video file: its frames (RGB), their time stamps (s), rotation and streams."""
    with av.open(str(path)) as container:
        streams = {stream.type: stream.codec_context.name for stream in container.streams}
        decoded = list(container.decode(video=0))
        return {
            "frames": [frame.to_ndarray(format="rgb24") for frame in decoded],
            "times": [round(float(frame.time), 4) for frame in decoded],
            "rotation": decoded[0].rotation if decoded else None,
            "streams": streams,
            "audio_seconds": _audio_seconds(path),
        }


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        return sum(frame.samples for frame in container.decode(audio=0)) / container.streams.audio[0].sample_rate
