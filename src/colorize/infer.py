"""Colorize photos with a trained generator: the `Colorizer` Python API.

The network sees a small copy of the photo: resized so its long side is `render_size` (aspect ratio kept), padded
(edge pixels repeated) to a multiple of the network's `size_multiple`, and the prediction cropped back. Its ab is
then upsampled to the photo's own size and joined with the lightness of the ORIGINAL pixels
(`colorize.fullres`), so no detail is lost whatever the render size. Colour inputs are treated as gray: only
their L is used.

Images of the same padded shape share one forward pass (`colorize_batch`). Backends: torch in float32, torch
with bfloat16 autocast, or onnxruntime (a `.onnx` file from `colorize export`, or the torch model exported on
the fly).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorize.fullres import compose_planes
from colorize.images import ImageSource, LoadedImage, load_image
from colorize.lab import AB_SCALE, normalize_l, rgb_to_lab, uint8_to_tensor

#: The model shipped with the package; `Colorizer()` loads it.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "default.safetensors"

BACKENDS = ("torch", "onnx")
#: Source modes (as `LoadedImage.mode` reports them) that carry no colour: one plane is enough.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
PRECISIONS = ("fp32", "bf16")
#: render_size must be a multiple of this (the coarsest stride of the encoder U-Nets).
RENDER_MULTIPLE = 32

ColorizeInput = ImageSource  # path, bytes, file, PIL image, uint8 array or LoadedImage


def rgb_icc_profile(profile: bytes | None) -> bytes | None:
    """The ICC profile if it describes RGB data (so it can tag an RGB output), else None (gray, CMYK, broken)."""
    if profile and len(profile) >= 20 and profile[16:20] == b"RGB ":
        return profile
    return None


class Colorizer:
    """Colorize photos at their own resolution with a generator.

    model: a generator module (`forward(l_norm) -> ab_norm`, `size_multiple`), or give `checkpoint` (a generator
    safetensors file, a training checkpoint, or a `.onnx` file); with neither, the bundled default model.
    render_size: long side, in pixels, of the copy the network sees (multiple of 32).
    backend: "torch" or "onnx" (default: "onnx" for `.onnx` files, else "torch"). precision: "fp32" or "bf16"
    (torch only: bfloat16 autocast). saturation: scales the predicted ab (0 gives the gray input back).
    batch_size: most images per forward pass in `colorize_batch`.
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        *,
        checkpoint: str | Path | None = None,
        render_size: int = 256,
        backend: str | None = None,
        precision: str = "fp32",
        saturation: float = 1.0,
        name: str | None = None,
        batch_size: int = 8,
    ):
        if model is not None and checkpoint is not None:
            raise ValueError("give either a model or a checkpoint, not both")
        if not isinstance(render_size, int) or render_size < RENDER_MULTIPLE or render_size % RENDER_MULTIPLE:
            raise ValueError(f"render_size must be a positive multiple of {RENDER_MULTIPLE}, got {render_size}")
        if backend not in (None, *BACKENDS):
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if not saturation >= 0:
            raise ValueError(f"saturation must be >= 0, got {saturation}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")

        if model is None:
            checkpoint = Path(checkpoint) if checkpoint is not None else _default_checkpoint()
            if not checkpoint.is_file():
                raise FileNotFoundError(f"no such model file: {checkpoint}")
            is_onnx = checkpoint.suffix.lower() == ".onnx"
            backend = backend or ("onnx" if is_onnx else "torch")
            if is_onnx and backend != "onnx":
                raise ValueError(f"{checkpoint.name} is an ONNX model; it runs with backend='onnx' only")
            if not is_onnx:
                from colorize.models import load_model

                model = load_model(checkpoint)
        else:
            backend = backend or "torch"
        if backend == "onnx" and precision != "fp32":
            raise ValueError("the onnx backend runs in fp32 only; use backend='torch' for bf16")

        if backend == "onnx":
            from colorize.onnx_export import OnnxGenerator, export_onnx_bytes

            network = OnnxGenerator(checkpoint if model is None else export_onnx_bytes(model))
        else:
            # channels_last lets oneDNN pick its fast convolution layouts: a 256x192 efficientnet_lite0 forward
            # went from 61 to 38 ms of CPU (fp32, one thread). Like eval(), this changes the module in place.
            network = model.eval().to(memory_format=torch.channels_last)
        self.network = network
        self.checkpoint = checkpoint
        self.backend = backend
        self.precision = precision
        self.render_size = render_size
        self.saturation = float(saturation)
        self.batch_size = batch_size
        self.size_multiple = int(getattr(network, "size_multiple", RENDER_MULTIPLE))
        self.arch = str(getattr(network, "arch", type(network).__name__))
        self.name = name or (checkpoint.stem if checkpoint is not None else self.arch)

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs) -> Colorizer:
        """A Colorizer for the generator saved at `path` (safetensors, training .pt, or .onnx)."""
        return cls(checkpoint=path, **kwargs)

    def __repr__(self) -> str:
        return (f"Colorizer(name={self.name!r}, arch={self.arch!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, render_size={self.render_size})")

    # --- public API ------------------------------------------------------------------------------------------

    def colorize(self, image: ColorizeInput) -> Image.Image:
        """A colour version of `image` at its own size (after EXIF orientation): RGB, or RGBA if it had alpha.

        The result's `info` holds the input's EXIF (orientation removed) and its ICC profile when that is an RGB
        profile, for saving.
        """
        return self.colorize_batch([image])[0]

    def colorize_batch(self, images: Sequence[ColorizeInput]) -> list[Image.Image]:
        """`colorize` for several images; those with the same padded render shape share forward passes."""
        loaded = [load_image(image) for image in images]
        predictions = self.predict_ab(loaded)
        return [self._finish(item, ab) for item, ab in zip(loaded, predictions)]

    def predict_ab(self, images: Sequence[LoadedImage]) -> list[torch.Tensor]:
        """The network's colour for each image: (2, h, w) a*, b* in Lab units (saturation applied) at render size."""
        inputs = [self._network_input(image) for image in images]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, (tensor, _) in enumerate(inputs):
            groups[tuple(tensor.shape[-2:])].append(index)
        results: list[torch.Tensor | None] = [None] * len(images)
        for members in groups.values():
            for start in range(0, len(members), self.batch_size):
                batch = members[start : start + self.batch_size]
                ab_norm = self._forward(torch.cat([inputs[i][0] for i in batch]))
                for row, index in enumerate(batch):
                    top, left, height, width = inputs[index][1]
                    crop = ab_norm[row, :, top : top + height, left : left + width]
                    results[index] = crop.float() * (AB_SCALE * self.saturation)
        return results

    def describe(self) -> dict:
        """What this colorizer runs, for `colorize doctor` and logs."""
        return {
            "name": self.name,
            "arch": self.arch,
            "checkpoint": str(self.checkpoint) if self.checkpoint is not None else None,
            "backend": self.backend,
            "precision": self.precision,
            "render_size": self.render_size,
            "size_multiple": self.size_multiple,
        }

    # --- steps -----------------------------------------------------------------------------------------------

    def _network_input(self, image: LoadedImage) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """(1, 1, H', W') normalised L of the small copy, padded; and (top, left, height, width) of the content."""
        full_w, full_h = image.size
        scale = self.render_size / max(full_w, full_h)
        width, height = max(1, round(full_w * scale)), max(1, round(full_h * scale))
        small = image.rgb
        if (width, height) != (full_w, full_h):
            # Same resampling as the training data (antialiased bicubic); reducing_gap first box-shrinks big
            # photos by an integer factor, which is several times faster and visually identical at this size.
            small = small.resize((width, height), Image.BICUBIC, reducing_gap=3.0)
        with torch.inference_mode():
            l_norm = normalize_l(rgb_to_lab(uint8_to_tensor(np.array(small)))[:, :1])
            multiple = self.size_multiple
            pad_h, pad_w = -height % multiple, -width % multiple
            top, left = pad_h // 2, pad_w // 2
            if pad_h or pad_w:
                l_norm = F.pad(l_norm, (left, pad_w - left, top, pad_h - top), mode="replicate")
        return l_norm, (top, left, height, width)

    def _forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        if self.backend == "onnx":
            return self.network(l_norm)
        l_norm = l_norm.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self.precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return self.network(l_norm).float()
            return self.network(l_norm)

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


def _default_checkpoint() -> Path:
    path = Path(DEFAULT_CHECKPOINT)  # read at call time, so tests and packagers can point it elsewhere
    if not path.is_file():
        raise FileNotFoundError(
            f"the bundled default model is missing ({path}); pass a checkpoint (--checkpoint / "
            "Colorizer.from_checkpoint), e.g. RUN_DIR/generator.safetensors from `colorize train`"
        )
    return path


@functools.lru_cache(maxsize=2)
def _cached_colorizer(checkpoint: str | None, stamp: float, options: tuple) -> Colorizer:
    return Colorizer(checkpoint=checkpoint, **dict(options))


def colorize_image(image: ColorizeInput, checkpoint: str | Path | None = None, **kwargs) -> Image.Image:
    """One-call colorization; the Colorizer is cached per (checkpoint file and its mtime, options)."""
    path = Path(checkpoint) if checkpoint is not None else _default_checkpoint()
    stamp = path.stat().st_mtime if path.is_file() else 0.0
    colorizer = _cached_colorizer(str(path), stamp, tuple(sorted(kwargs.items())))
    return colorizer.colorize(image)
