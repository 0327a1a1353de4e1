"""Colorize videos: decode, colour in batches, stabilise over time, encode with the audio (`colorize video`).

`from colorize.video import VideoConfig, colorize_video`. The names are imported on first use, so reading the
options (`VideoConfig`, standard library only) does not load PyAV, OpenCV or torch.
"""

#: Public name -> the module that defines it.
_LAZY_EXPORTS = {
    "VideoConfig": "colorize.video.config",
    "VideoReport": "colorize.video.pipeline",
    "colorize_video": "colorize.video.pipeline",
    "colour_frames": "colorize.video.pipeline",
    "VideoError": "colorize.video.reader",
    "VideoReader": "colorize.video.reader",
    "TemporalStabilizer": "colorize.video.stabilize",
}

__all__ = list(_LAZY_EXPORTS)


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'colorize.video' has no attribute {name!r}")
