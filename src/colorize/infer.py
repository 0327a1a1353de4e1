"""Colorize photos with a trained generator: the `Colorizer` Python API.

The network sees a small copy of the photo: resized so its long side is `render_size` (aspect ratio kept), padded
(edge pixels repeated) to a multiple of the network's `size_multiple`, and the prediction cropped back. Its ab is
then upsampled to the photo's own size and joined with the lightness of the ORIGINAL pixels
(`colorize.fullres`), so no detail is lost whatever the render size. Colour inputs are treated as gray: only
their L is used.

User colour hints (`colorize.hints`: points of the photo as displayed, after EXIF rotation, with a colour) are
spread edge-aware over the prediction (`colorize.hint_spread`, `InferenceOptions.hint_reach`), so every model takes
them (`Colorizer.takes_hints`); a network trained with --hints (`Colorizer.reads_hints`) also gets them as
[a, b, mask] planes at the render size, padded like L. Hints are checked for every image before anything runs, so
a bad one changes nothing.

Images of the same padded shape share one forward pass (`colorize_batch`). Every setting is a field of
`InferenceOptions`; the engine (`colorize.engines`) is chosen by its backend: "auto" (the default) runs
onnxruntime on a graph exported from the model on first use, "torch" runs torch (fp32 or bf16 autocast),
"onnx" insists on onnxruntime; a `.onnx` file from `colorize export` always runs on onnxruntime.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorize.fullres import compose_planes
from colorize.hint_spread import spread_hints
from colorize.hints import Hint, HintLike, as_hint, check_hints, render_hints
from colorize.images import GRAY_MODES, ImageSource, LoadedImage, load_image
from colorize.inference_options import BACKENDS, PRECISIONS, RENDER_MULTIPLE, InferenceOptions
from colorize.lab import AB_SCALE, denormalize_l, normalize_l, rgb_to_lab, uint8_to_tensor
from colorize.models.protocols import reads_hints

__all__ = ["BACKENDS", "DEFAULT_CHECKPOINT", "PRECISIONS", "RENDER_MULTIPLE", "Colorizer", "InferenceOptions",
           "colorize_image", "resolve_checkpoint", "rgb_icc_profile"]

#: The model shipped with the package; `Colorizer()` loads it.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "default.safetensors"

ColorizeInput = ImageSource  # path, bytes, file, PIL image, uint8 array or LoadedImage
#: per image of a batch: its hints, or None for none
BatchHints = Sequence[Sequence[HintLike] | None] | None


def resolve_checkpoint(checkpoint: str | Path | None = None) -> Path:
    """The generator file to load: `checkpoint`, or with None the bundled default model; a clear error if missing."""
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"no such model file: {path}")
        return path
    path = Path(DEFAULT_CHECKPOINT)  # read at call time, so tests and packagers can point it elsewhere
    if not path.is_file():
        raise FileNotFoundError(
            f"the bundled default model is missing ({path}); pass a checkpoint (--checkpoint / "
            "Colorizer.from_checkpoint), e.g. RUN_DIR/generator.safetensors from `colorize train`"
        )
    return path


def rgb_icc_profile(profile: bytes | None) -> bytes | None:
    """The ICC profile if it describes RGB data (so it can tag an RGB output), else None (gray, CMYK, broken)."""
    if profile and len(profile) >= 20 and profile[16:20] == b"RGB ":
        return profile
    return None


class Colorizer:
    """Colorize photos at their own resolution with a generator.

    model: a generator module (`forward(l_norm) -> ab_norm`, `size_multiple`); without one, the options'
    checkpoint (a generator safetensors file, a training checkpoint, or a `.onnx` file) or the bundled default.
    options: an `InferenceOptions`; keyword arguments override single fields of it
    (`Colorizer(render_size=384, backend="torch")`). The engine is built on first use.
    """

    def __init__(self, model: torch.nn.Module | None = None, *, options: InferenceOptions | None = None,
                 name: str | None = None, **option_values):
        known = [f.name for f in dataclasses.fields(InferenceOptions)]
        if set(option_values) - set(known):
            raise TypeError(f"unknown Colorizer option(s) {sorted(set(option_values) - set(known))}; known: {known}")
        options = dataclasses.replace(options or InferenceOptions(), **option_values)
        if model is not None and options.checkpoint is not None:
            raise ValueError("give either a model or a checkpoint, not both")
        self.options = options
        self.checkpoint: Path | None = None
        self._engine = None
        self._engine_lock = threading.Lock()
        if model is None:
            self.checkpoint = resolve_checkpoint(options.checkpoint)
            if self.checkpoint.suffix.lower() == ".onnx":
                self._engine = self._onnx_file_engine(self.checkpoint)
            else:
                from colorize.models import load_model

                model = load_model(self.checkpoint)
        if options.num_threads:
            torch.set_num_threads(options.num_threads)  # process-wide, as torch's setting is
        self.model = model
        described = model if model is not None else self._engine
        self.size_multiple = int(getattr(described, "size_multiple", RENDER_MULTIPLE))
        #: whether the network reads colour hints: a Generator's `takes_hints` (an ONNX graph's "hints" input)
        self.reads_hints = reads_hints(described)
        #: whether `colorize` accepts hints: the network reads them, or they are spread over its prediction
        self.takes_hints = self.reads_hints or options.hint_reach > 0
        self.arch = str(getattr(described, "arch", type(described).__name__))
        self.name = name or (self.checkpoint.stem if self.checkpoint is not None else self.arch)

    def _onnx_file_engine(self, path: Path):
        from colorize.onnx_export import OnnxGenerator

        if self.options.backend == "torch":
            raise ValueError(f"{path.name} is an ONNX model; it runs with backend 'onnx' (or 'auto') only")
        if self.options.precision != "fp32":
            raise ValueError(f"{path.name} is an ONNX model, which runs in fp32 only")
        return OnnxGenerator(path, threads=self.options.num_threads or None)

    @classmethod
    def from_options(cls, options: InferenceOptions, model: torch.nn.Module | None = None,
                     name: str | None = None) -> Colorizer:
        """The Colorizer these options describe (their checkpoint, or `model` when given)."""
        return cls(model, options=options, name=name)

    @classmethod
    def from_checkpoint(cls, path: str | Path, **option_values) -> Colorizer:
        """A Colorizer for the generator saved at `path` (safetensors, training .pt, or .onnx)."""
        return cls(checkpoint=path, **option_values)

    @property
    def backend(self) -> str:
        """The engine's backend ("torch" or "onnx") once built; before the first use, the options' choice."""
        return self._engine.backend if self._engine is not None else self.options.backend

    def __repr__(self) -> str:
        return (f"Colorizer(name={self.name!r}, arch={self.arch!r}, backend={self.backend!r}, "
                f"precision={self.options.precision!r}, render_size={self.options.render_size})")

    # --- public API ------------------------------------------------------------------------------------------

    def colorize(self, image: ColorizeInput, hints: Sequence[HintLike] | None = None) -> Image.Image:
        """A colour version of `image` at its own size (after EXIF orientation): RGB, or RGBA if it had alpha.

        hints: colour hints for a model that takes them (`takes_hints`): `Hint`s, 'X,Y,#rrggbb[,RADIUS]' strings
        or {"x", "y", "color", "radius"?} mappings, X and Y in pixels of the photo as displayed. Too many, one
        outside the photo, a bad colour, or any hint for a model without hints: a ValueError, before anything runs.

        The result's `info` holds the input's EXIF (orientation removed) and its ICC profile when that is an RGB
        profile, for saving.
        """
        return self.colorize_batch([image], None if hints is None else [hints])[0]

    def colorize_batch(self, images: Sequence[ColorizeInput], hints: BatchHints = None) -> list[Image.Image]:
        """`colorize` for several images (`hints`: one list, or None, per image); those with the same padded
        render shape share forward passes."""
        loaded = [load_image(image, max_pixels=self.options.max_pixels) for image in images]
        predictions = self.predict_ab(loaded, hints)
        return [self._finish(item, ab) for item, ab in zip(loaded, predictions)]

    def predict_ab(self, images: Sequence[ColorizeInput], hints: BatchHints = None) -> list[torch.Tensor]:
        """The network's colour for each image: (2, h, w) a*, b* in Lab units (saturation applied) at render size.

        (h, w) is the image's size scaled so its long side is `render_size`. Images of one padded shape share
        forward passes of up to `batch_size`. `colorize.fullres.compose_planes` joins such a prediction with any
        full-resolution lightness of the same aspect ratio (e.g. a video frame's own). `hints`: as in
        `colorize_batch`.
        """
        loaded = [load_image(image, max_pixels=self.options.max_pixels) for image in images]
        image_hints = self.validate_hints(loaded, hints)
        inputs = [self.network_input(image) for image in loaded]
        planes = [self.hint_input(image, h) if h and self.reads_hints else None
                  for image, h in zip(loaded, image_hints)]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, (tensor, _) in enumerate(inputs):
            groups[tuple(tensor.shape[-2:])].append(index)
        results: list[torch.Tensor | None] = [None] * len(loaded)
        batch_size, scale = self.options.batch_size, AB_SCALE * self.options.saturation
        for members in groups.values():
            for start in range(0, len(members), batch_size):
                batch = members[start : start + batch_size]
                batch_hints = None
                if any(planes[i] is not None for i in batch):
                    shape = (1, 3, *inputs[batch[0]][0].shape[-2:])
                    batch_hints = torch.cat([planes[i] if planes[i] is not None else torch.zeros(shape)
                                             for i in batch])
                ab_norm = self.run_network(torch.cat([inputs[i][0] for i in batch]), batch_hints)
                for row, index in enumerate(batch):
                    top, left, height, width = inputs[index][1]
                    crop = (slice(top, top + height), slice(left, left + width))
                    ab = ab_norm[row, :, crop[0], crop[1]].float() * scale
                    if image_hints[index]:
                        lightness = denormalize_l(inputs[index][0][0, 0, crop[0], crop[1]])
                        ab = spread_hints(ab, lightness, image_hints[index], loaded[index].size,
                                          self.options.hint_reach)
                    results[index] = ab
        return results

    def validate_hints(self, images: Sequence[LoadedImage], hints: BatchHints) -> list[list[Hint]]:
        """Each image's hints as `Hint`s, checked against the model and the image; a ValueError otherwise."""
        if hints is None:
            return [[] for _ in images]
        if len(hints) != len(images):
            raise ValueError(f"{len(hints)} hint lists for {len(images)} images: give one list (or None) per image")
        checked = []
        for image, items in zip(images, hints):
            image_hints = [as_hint(item) for item in items or ()]
            if image_hints and not self.takes_hints:
                raise ValueError(f"the model {self.name!r} does not read colour hints and hint_reach is 0; use a "
                                 "hint_reach above 0, a model trained with --hints, or no hints")
            check_hints(image_hints, *image.size)
            checked.append(image_hints)
        return checked

    def _render_geometry(self, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
        """(width, height) of the render-size copy of a `size` photo, and its padding (left, right, top, bottom)."""
        full_w, full_h = size
        scale = self.options.render_size / max(full_w, full_h)
        width, height = max(1, round(full_w * scale)), max(1, round(full_h * scale))
        pad_h, pad_w = -height % self.size_multiple, -width % self.size_multiple
        top, left = pad_h // 2, pad_w // 2
        return (width, height), (left, pad_w - left, top, pad_h - top)

    def hint_input(self, image: ColorizeInput, hints: Sequence[HintLike]) -> torch.Tensor:
        """(1, 3, H', W') hint planes for `image`, laid out like `network_input`'s L (zeros in the padding)."""
        image = load_image(image, max_pixels=self.options.max_pixels)
        render_size, padding = self._render_geometry(image.size)
        planes = render_hints([as_hint(h) for h in hints], image.size, render_size)
        return F.pad(planes, padding) if any(padding) else planes

    def network_input(self, image: ColorizeInput) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """(1, 1, H', W') normalised L of the small copy, padded; and (top, left, height, width) of the content."""
        image = load_image(image, max_pixels=self.options.max_pixels)
        full_w, full_h = image.size
        (width, height), padding = self._render_geometry(image.size)
        gray = image.mode in GRAY_MODES
        # A gray photo's three channels are equal: resizing one is the same numbers in a third of the time.
        small = image.rgb.getchannel(0) if gray else image.rgb
        if (width, height) != (full_w, full_h):
            # Same resampling as the training data (antialiased bicubic); reducing_gap first box-shrinks big
            # photos by an integer factor, which is several times faster and visually identical at this size.
            small = small.resize((width, height), Image.BICUBIC, reducing_gap=3.0)
        pixels = np.repeat(np.asarray(small)[..., None], 3, axis=2) if gray else np.array(small)
        with torch.inference_mode():
            l_norm = normalize_l(rgb_to_lab(uint8_to_tensor(pixels))[:, :1])
            if any(padding):
                l_norm = F.pad(l_norm, padding, mode="replicate")
        left, _, top, _ = padding
        return l_norm, (top, left, height, width)

    def run_network(self, l_norm: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """The network alone: normalised L (B, 1, H, W), H and W multiples of `size_multiple` (and for a model
        that takes hints, optionally their (B, 3, H, W) planes) -> normalised ab."""
        if self._engine is None:
            with self._engine_lock:  # web workers may arrive together; export once
                if self._engine is None:
                    from colorize.engines import build_engine

                    options = self.options
                    self._engine = build_engine(self.model, options.backend, options.precision, options.num_threads)
        return self._engine(l_norm, hints)

    def describe(self) -> dict:
        """What this colorizer runs, for `colorize doctor` and logs."""
        return {
            "name": self.name,
            "arch": self.arch,
            "checkpoint": str(self.checkpoint) if self.checkpoint is not None else None,
            "backend": self.backend,
            "precision": self.options.precision,
            "render_size": self.options.render_size,
            "size_multiple": self.size_multiple,
            "takes_hints": self.takes_hints,
        }

    # --- steps -----------------------------------------------------------------------------------------------

    def _finish(self, image: LoadedImage, ab: torch.Tensor) -> Image.Image:
        # Planes straight from Pillow (split / merge) instead of (H, W, 3) arrays: 3-4x less copying on 12 MP.
        if image.mode in GRAY_MODES:
            planes = [np.asarray(image.rgb.getchannel(0))]
        else:
            planes = [np.asarray(channel) for channel in image.rgb.split()]
        out = compose_planes(planes, ab)
        size = image.rgb.size
        result = Image.merge("RGB", [Image.frombuffer("L", size, plane, "raw", "L", 0, 1) for plane in out])
        if image.alpha is not None:
            result.putalpha(image.alpha)
        icc = rgb_icc_profile(image.icc_profile)
        if icc:
            result.info["icc_profile"] = icc
        if image.exif:
            result.info["exif"] = image.exif
        return result


@functools.lru_cache(maxsize=2)
def _cached_colorizer(options: InferenceOptions, stamp: float) -> Colorizer:
    return Colorizer(options=options)


def colorize_image(image: ColorizeInput, checkpoint: str | Path | None = None,
                   hints: Sequence[HintLike] | None = None, **option_values) -> Image.Image:
    """One-call colorization (with colour hints for a model that takes them); the Colorizer is cached per
    (options, and the checkpoint file's mtime)."""
    path = resolve_checkpoint(checkpoint)
    options = InferenceOptions(checkpoint=path, **option_values)
    return _cached_colorizer(options, path.stat().st_mtime).colorize(image, hints=hints)
