"""Write the colorized video: H.264 at the input's time stamps, audio copied (or re-encoded to AAC), atomically.

The file is written under a temporary name next to the output and renamed only by `commit()`, so a failure or an
interrupted run never leaves a corrupt file at the output path; `abort()` deletes the temporary file.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

#: Output suffix -> FFmpeg muxer. All three take H.264 and AAC.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def check_output_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in CONTAINERS:
        raise ValueError(f"{path.name}: the output must end in one of {', '.join(CONTAINERS)}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder for the output")
    return path


class VideoWriter:
    """H.264 video (plus the input's audio) for frames of one size, written to `path` on `commit()`.

    audio: the input's audio stream or None. Packets of a copied stream go to `write_audio` as they are; if the
    container cannot hold that codec, they are decoded and re-encoded to AAC (`audio_mode` says which).
    """

    def __init__(self, path: str | Path, *, width: int, height: int, time_base: Fraction, frame_rate: Fraction | None,
                 audio: av.audio.stream.AudioStream | None = None, crf: int, preset: str,
                 threads: int = 0):
        self.path = check_output_path(path)
        self.temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self.frames_written = 0
        self.time_base = time_base  # of the frames' pts; the muxer may give the stream another when it starts
        self.audio_mode = "none"
        self._copy_audio = False
        # yuv420p needs even sides: an odd last row or column is dropped.
        self.width, self.height = width - width % 2, height - height % 2
        self.container = av.open(str(self.temporary), "w", format=CONTAINERS[self.path.suffix.lower()])
        try:
            self.video = self.container.add_stream("libx264", rate=frame_rate or Fraction(25))
            self.video.width, self.video.height = self.width, self.height
            self.video.pix_fmt = "yuv420p"
            # The encoder counts in the input's time base too: its default, 1 / frame rate, would round away
            # the time stamps of a variable-frame-rate video.
            self.video.time_base = self.video.codec_context.time_base = time_base
            self.video.codec_context.thread_count = threads
            self.video.options = {"crf": str(crf), "preset": preset}
            # Converted and tagged as BT.709 (sRGB's primaries), so players show the colours that were computed.
            context = self.video.codec_context
            context.colorspace, context.color_range = Colorspace.ITU709, ColorRange.MPEG
            context.color_primaries, context.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
            self._audio_in, self._audio_out = audio, None
            if audio is not None:
                self._add_audio(audio)
        except BaseException:
            self.abort()
            raise

    def _add_audio(self, audio: av.audio.stream.AudioStream) -> None:
        if audio.codec_context.name in self.container.supported_codecs:
            self._audio_out = self.container.add_stream_from_template(audio)
            self._copy_audio = True
            self.audio_mode = f"copied ({audio.codec_context.name})"
        else:
            # The default layout for the channel count: a source's may be unnamed ("1 channels"), which AAC refuses.
            channels = audio.codec_context.layout.nb_channels
            layout = {1: "mono", 2: "stereo"}.get(channels) or audio.codec_context.layout.name
            self._audio_out = self.container.add_stream("aac", rate=audio.codec_context.sample_rate, layout=layout)
            self.audio_mode = f"re-encoded ({audio.codec_context.name} -> aac)"

    def write_frame(self, rgb: np.ndarray, pts: int) -> None:
        """One (H, W, 3) uint8 RGB frame at `pts` (in the time base given at creation)."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self.height, : self.width]), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG,
                               dst_color_primaries=ColorPrimaries.BT709, dst_color_trc=ColorTrc.BT709)
        frame.pts, frame.time_base = pts, self.time_base
        self.container.mux(self.video.encode(frame))
        self.frames_written += 1

    def write_audio(self, packet: av.Packet) -> None:
        """An audio packet of the input's audio stream, its time stamps already those of the output."""
        if self._audio_out is None:
            return
        if self._copy_audio:
            packet.stream = self._audio_out
            self.container.mux(packet)
            return
        for frame in packet.decode():
            self.container.mux(self._audio_out.encode(frame))

    def commit(self) -> Path:
        """Finish the file and move it to `path`."""
        try:
            self.container.mux(self.video.encode(None))
            if self._audio_out is not None and not self._copy_audio:
                for frame in self._audio_in.codec_context.decode(None):
                    self.container.mux(self._audio_out.encode(frame))
                self.container.mux(self._audio_out.encode(None))
            self.container.close()
            os.replace(self.temporary, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the output path is left as it was."""
        try:
            self.container.close()
        except (av.error.FFmpegError, OSError, ValueError):
            pass
        self.temporary.unlink(missing_ok=True)
