"""`colorize_video`: a video in, the same video in colour out, with the flicker of frame-by-frame colouring damped.

Frames are decoded with PyAV, coloured in batches by a `Colorizer` at its render size, stabilised over time at that
size (`TemporalStabilizer`), joined with each frame's own full-resolution lightness (`compose_planes`, as for
photos) and encoded to H.264 at the input's time stamps, the audio copied alongside.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize.video.config import VideoConfig
from colorize.video.reader import DecodedFrame, VideoReader
from colorize.video.stabilize import TemporalStabilizer
from colorize.video.writer import VideoWriter, check_output_path


@dataclass
class VideoReport:
    output: Path
    frames: int
    video_seconds: float  # presentation time covered by the frames written
    elapsed: float  # wall-clock seconds
    audio: str
    scene_cuts: int

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        return (f"{self.output}: {self.frames} frames ({self.video_seconds:.2f} s of video) in {self.elapsed:.1f} s "
                f"({self.frames_per_second:.2f} frames/s); audio {self.audio}; {self.scene_cuts} scene cuts")


def colorize_video(config: VideoConfig, colorizer=None) -> VideoReport:
    """Colorize `config.input` into `config.output` (.mp4, .mov or .mkv); see `VideoConfig` for the options.

    colorizer: a `colorize.infer.Colorizer` to use instead of building one from the config's model options.
    Bad input raises `VideoError` (a ValueError) and writes nothing. On Ctrl-C the frames done so far are saved
    as a playable (shorter) video at the output path, then KeyboardInterrupt propagates.
    """
    if config.input is None or config.output is None:
        raise ValueError("an input and an output video are required")
    output = check_output_path(config.output)
    if output.resolve() == Path(config.input).resolve():
        raise ValueError(f"{output}: the output would overwrite the input")
    if output.exists() and not config.overwrite:
        raise ValueError(f"{output} exists; pass --overwrite to replace it")
    threads = config.inference.num_threads
    if threads:
        cv2.setNumThreads(threads)  # OpenCV's pool is process-wide, like torch's threads
    stabilizer = TemporalStabilizer(config.stabilize, flow=config.flow, cut_threshold=config.scene_cut)
    with VideoReader(config.input, max_pixels=config.inference.max_pixels, threads=threads) as reader:
        if colorizer is None:
            from colorize.infer import Colorizer

            colorizer = Colorizer.from_options(config.inference)
        return _run(config, output, reader, colorizer, stabilizer)


def _run(config: VideoConfig, output: Path, reader: VideoReader, colorizer, stabilizer) -> VideoReport:
    from tqdm import tqdm

    started = time.perf_counter()
    writer: VideoWriter | None = None  # made at the first frame, when the output's size is known
    pending_audio: list = []
    last_time = 0.0
    bar = tqdm(total=reader.info.expected_frames(config.start, config.duration), unit="frame",
               disable=not config.progress, dynamic_ncols=True, desc=Path(config.input).name)
    try:
        for batch, audio in _batches(reader.demux(config.start, config.duration), config.inference.batch_size):
            for rgb, frame in zip(colour_frames(colorizer, stabilizer, [f.rgb for f in batch]), batch):
                if writer is None:
                    writer = VideoWriter(output, width=rgb.shape[1], height=rgb.shape[0],
                                         time_base=reader.info.time_base, frame_rate=reader.info.frame_rate,
                                         audio=reader.audio, crf=config.crf, preset=config.preset,
                                         threads=config.inference.num_threads)
                writer.write_frame(rgb, frame.pts)
                last_time = frame.time
                bar.update()
            pending_audio.extend(audio)
            if writer is not None:
                for packet in pending_audio:
                    writer.write_audio(packet)
                pending_audio.clear()
    except BaseException as exc:
        bar.close()
        if writer is not None and writer.frames_written and isinstance(exc, KeyboardInterrupt):
            writer.commit()
            print(f"interrupted: the first {writer.frames_written} frames ({last_time:.2f} s) are in {output}",
                  file=sys.stderr)
        elif writer is not None:
            writer.abort()
        raise
    bar.close()
    writer.commit()
    frame_length = 1 / float(reader.info.frame_rate) if reader.info.frame_rate else 0.0
    return VideoReport(output=output, frames=writer.frames_written, video_seconds=last_time + frame_length,
                       elapsed=time.perf_counter() - started, audio=writer.audio_mode,
                       scene_cuts=stabilizer.scene_cuts)


def _batches(items: Iterator, size: int) -> Iterator[tuple[list[DecodedFrame], list]]:
    """Groups of up to `size` frames, each with the audio packets read since the previous group."""
    frames: list[DecodedFrame] = []
    audio: list = []
    for item in items:
        if isinstance(item, DecodedFrame):
            frames.append(item)
            if len(frames) == size:
                yield frames, audio
                frames, audio = [], []
        else:
            audio.append(item)
    if frames or audio:
        yield frames, audio


def colour_frames(colorizer, stabilizer: TemporalStabilizer, frames: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    """Colour consecutive (H, W, 3) uint8 frames: one forward pass for the batch, then stabilised one by one.

    Yields (H, W, 3) uint8 RGB frames whose lightness is the input's and whose colour is the network's prediction
    at render size, stabilised, upsampled to the frame's size.
    """
    from colorize.fullres import compose_planes

    if not frames:
        return
    predictions = colorizer.predict_ab(list(frames))
    for rgb, ab in zip(frames, predictions):
        small_luma = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (ab.shape[2], ab.shape[1]),
                                interpolation=cv2.INTER_AREA)
        planes = [np.ascontiguousarray(rgb[..., channel]) for channel in range(3)]
        yield compose_planes(planes, stabilizer(small_luma, ab)).transpose(1, 2, 0)
