"""Open and check an input video, then read its frames (upright, in a time window) and its audio packets.

Everything that makes a file unusable is found here and raised as `VideoError` with the reason, before any output
exists: not a video, an image, no video stream, an absurd resolution, a corrupt or truncated stream, no frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Colorspace

from colorize.inference_options import InferenceOptions

#: FFmpeg colour spaces (matrix coefficients) swscale converts exactly: BT.709, FCC, BT.470BG, SMPTE 170M and 240M,
#: BT.2020 non-constant luminance.
_CONVERTIBLE_COLORSPACES = frozenset({1, 4, 5, 6, 7, 9})
#: A video whose frames stop this long before its declared end (beyond one frame) is reported as truncated.
TRUNCATION_TOLERANCE = 0.5


class VideoError(ValueError):
    """A video that cannot be colorized; the message says why."""


@dataclass
class DecodedFrame:
    """One frame, turned upright: `rgb` (H, W, 3) uint8; `pts` in the stream's time base and `time` in seconds,
    both counted from the start of the window read."""

    rgb: np.ndarray
    pts: int
    time: float


@dataclass
class VideoInfo:
    width: int  # as stored, before rotation
    height: int
    time_base: Fraction
    frame_rate: Fraction | None
    duration: float | None  # seconds, of the video stream when known
    start_time: float  # seconds, the video stream's first time stamp
    codec: str
    audio_codec: str | None

    def expected_frames(self, start: float, duration: float | None) -> int | None:
        """Roughly how many frames the window [start, start + duration) holds: for the progress bar only."""
        if self.frame_rate is None:
            return None
        end = self.duration if duration is None else start + duration
        if self.duration is not None:
            end = min(end, self.duration)
        if end is None:
            return None
        return max(0, math.ceil((end - start) * self.frame_rate))


def _stream_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")  # Matroska writes the duration of each stream as a tag
    if tag:
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            pass
    if container.duration is not None and len(container.streams.audio) == 0:
        return container.duration / av.time_base
    return None


class VideoReader:
    """An opened, checked input video: `info` describes it, `demux()` reads it. Use as a context manager."""

    def __init__(self, path: str | Path, *, max_pixels: int = InferenceOptions.max_pixels, threads: int = 0):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such file")
        if self.path.stat().st_size == 0:
            raise VideoError(f"{self.path.name}: the file is empty (0 bytes)")
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoError(f"{self.path.name}: not a readable video ({_reason(exc)})") from exc
        try:
            self.video, self.audio = self._check(max_pixels)
        except BaseException:
            self.container.close()
            raise
        self.video.codec_context.thread_type = "AUTO"
        self.video.codec_context.thread_count = threads
        self.info = VideoInfo(
            width=self.video.codec_context.width,
            height=self.video.codec_context.height,
            time_base=self.video.time_base,
            frame_rate=self.video.average_rate or self.video.guessed_rate or None,
            duration=_stream_duration(self.container, self.video),
            start_time=float((self.video.start_time or 0) * self.video.time_base),
            codec=self.video.codec_context.name,
            audio_codec=self.audio.codec_context.name if self.audio is not None else None,
        )

    def _check(self, max_pixels: int):
        name = self.path.name
        format_name = self.container.format.name
        if format_name.endswith("_pipe") or format_name in ("image2", "gif", "webp", "apng"):
            raise VideoError(f"{name} is an image ({format_name}), not a video; use `colorize image`")
        if not self.container.streams.video:
            raise VideoError(f"{name} has no video stream")
        video = self.container.streams.video[0]
        width, height = video.codec_context.width, video.codec_context.height
        if width <= 0 or height <= 0:
            raise VideoError(f"{name}: the video stream has no picture size ({width}x{height}); corrupt file?")
        if width * height > max_pixels or width < 2 or height < 2:
            raise VideoError(f"{name}: {width}x{height} is not a size this can colorize (2x2 up to "
                             f"{max_pixels / 1e6:.0f} megapixels)")
        audio = self.container.streams.audio[0] if self.container.streams.audio else None
        return video, audio

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def demux(self, start: float = 0.0, duration: float | None = None) -> Iterator[DecodedFrame | av.Packet]:
        """Video frames (as `DecodedFrame`) and audio packets of the window, in file order.

        Times are seconds from the video stream's start. Audio packets are yielded as stored (to be copied or
        decoded) with their time stamps shifted like the frames'; those wholly outside the window are dropped.
        """
        if start < 0 or (duration is not None and duration <= 0):
            raise ValueError(f"start must be >= 0 and duration > 0, got start={start}, duration={duration}")
        begin = self.info.start_time + start
        end = math.inf if duration is None else begin + duration
        if start > 0:
            self.container.seek(int(begin / self.video.time_base), stream=self.video, backward=True)
        video_shift = round(begin / self.video.time_base)
        audio_shift = round(begin / self.audio.time_base) if self.audio is not None else 0
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        last_time, last_length = None, 0.0
        video_done, audio_done = False, self.audio is None
        try:
            for packet in self.container.demux(streams):
                if packet.stream is self.audio:
                    if packet.pts is None or audio_done:
                        continue
                    time = float(packet.pts * packet.time_base)
                    if time >= end:
                        audio_done = True
                    elif time + float((packet.duration or 0) * packet.time_base) > begin:
                        # Shifted so the window starts at 0, like the video frames.
                        packet.pts -= audio_shift
                        if packet.dts is not None:
                            packet.dts -= audio_shift
                        yield packet
                elif not video_done:
                    for frame in packet.decode():
                        if frame.pts is None or frame.time < begin - 1e-6:
                            continue
                        if frame.time >= end:
                            video_done = True
                            break
                        last_time = frame.time
                        last_length = float(frame.duration * frame.time_base) if frame.duration else 0.0
                        yield DecodedFrame(_upright(frame), frame.pts - video_shift, frame.time - begin)
                if video_done and audio_done:
                    break
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path.name}: corrupt or truncated video ({_reason(exc)})") from exc
        if last_time is None:
            raise VideoError(f"{self.path.name}: no video frames" + (f" from {start:g} s on" if start else ""))
        if duration is None and self.info.duration is not None:
            # A variable-frame-rate video may hold its last frame for long: its own duration counts when known.
            frame_length = max(last_length, 1 / float(self.info.frame_rate) if self.info.frame_rate else 0.0)
            missing = self.info.start_time + self.info.duration - (last_time + frame_length)
            if missing > TRUNCATION_TOLERANCE:
                raise VideoError(f"{self.path.name}: corrupt or truncated: the frames stop at {last_time:.2f} s "
                                 f"of a {self.info.duration:.2f} s video")


def yuv_matrix(frame: av.VideoFrame) -> int:
    """The YUV <-> RGB matrix (FFmpeg colour-space number) to convert `frame` with.

    The file's own when it names one swscale knows; untagged video gets what players assume: BT.709 from 720
    lines up, BT.601 below.
    """
    if frame.colorspace in _CONVERTIBLE_COLORSPACES:
        return frame.colorspace
    return Colorspace.ITU709 if frame.height >= 720 else Colorspace.ITU601


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """The frame as (H, W, 3) RGB, rotated as the file's display matrix says it should be shown."""
    rgb = frame.to_ndarray(format="rgb24", src_colorspace=yuv_matrix(frame),
                           src_color_range=frame.color_range or None)  # unspecified: swscale's own choice
    quarter_turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise, as np.rot90 turns
    return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
