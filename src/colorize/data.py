"""Training data: a folder of photos -> a seeded train/val split of usable colour images -> uint8 batches.

The pipeline decodes each file once up front (`scan_images`): unreadable files are skipped with one warning each,
grayscale photos are skipped because they carry no colour to learn from, and every usable photo is resized
(bicubic, short side) and centre-cropped to a square. With the cache on, those squares are written to a uint8
memmap on disk, so later epochs (and later runs on the same files) never decode a JPEG again.

Datasets yield uint8 (H, W, 3) tensors; the train step converts whole batches to L*a*b with `batch_to_model_space`.
Augmentation (random crop + horizontal flip, train only) is drawn from a generator seeded by (seed, epoch, index),
so a batch depends on nothing but those numbers: resumed runs, worker processes and DDP ranks all agree.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from colorize.images import find_images, is_grayscale, load_image

#: Train crops come from a square this much bigger than the crop (pix2pix: 286 -> 256).
LOAD_SCALE = 1.125
_CACHE_VERSION = 1


class SkippedImageWarning(UserWarning):
    """A file in the training folder could not be used (corrupt, truncated, not an image)."""


def default_load_size(size: int) -> int:
    return max(size, int(round(size * LOAD_SCALE)))


# ---------------------------------------------------------------------------------------------------- splitting


@dataclass
class Split:
    train: list[Path]
    val: list[Path]


def split_files(
    files: Sequence[Path],
    *,
    max_images: int = 10_000,
    val_images: int = 2_000,
    val_fraction: float = 0.2,
    seed: int = 0,
    val_files: Sequence[Path] | None = None,
) -> Split:
    """A seeded sample of at most `max_images` files, split into train and val.

    Val gets `val_images` of the sample but never more than `val_fraction` of it, and at least one photo when the
    sample has two or more (the defaults give the design's 8,000 / 2,000 split of 10,000 photos; a 200-photo
    folder splits 160 / 40). With a separate `val_files` list, val is a seeded sample of at most `val_images` of
    them, and every sampled file that is not one of them trains. The result depends only on the file names and
    the seed.
    """
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images}")
    if val_images < 0:
        raise ValueError(f"val_images must be >= 0, got {val_images}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = random.Random(seed)
    files = sorted(files)
    sample = sorted(rng.sample(files, min(max_images, len(files))))
    if val_files is not None:
        val_files = sorted(val_files)
        val = sorted(rng.sample(val_files, min(val_images, len(val_files))))
        # A val folder inside the training folder (found by its recursive search) must not train too.
        held_out = {Path(p).resolve() for p in val_files}
        return Split(train=[p for p in sample if Path(p).resolve() not in held_out], val=val)
    n = len(sample)
    n_val = min(val_images, int(n * val_fraction))
    if n >= 2 and val_images > 0 and val_fraction > 0:
        n_val = max(1, n_val)
    order = list(range(n))
    rng.shuffle(order)
    val_idx = set(order[:n_val])
    return Split(
        train=[p for i, p in enumerate(sample) if i not in val_idx],
        val=[p for i, p in enumerate(sample) if i in val_idx],
    )


# ---------------------------------------------------------------------------------------------------- decoding


def resize_square(img: Image.Image, side: int) -> np.ndarray:
    """Bicubic resize so the short side is `side`, then centre-crop to side x side; (side, side, 3) uint8."""
    w, h = img.size
    scale = side / min(w, h)
    new_w, new_h = max(side, int(round(w * scale))), max(side, int(round(h * scale)))
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.BICUBIC)
    left, top = (new_w - side) // 2, (new_h - side) // 2
    return np.asarray(img.crop((left, top, left + side, top + side)), dtype=np.uint8)


def decode_square(path: Path, side: int) -> np.ndarray:
    """Load any supported image file as a (side, side, 3) uint8 square; raises ImageError when unusable."""
    return resize_square(load_image(path).rgb, side)


@dataclass
class ScanResult:
    """What `scan_images` found: usable files (in order) and the ones it left out, with the reason."""

    usable: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # corrupt / unreadable
    grayscale: list[Path] = field(default_factory=list)


def _read_or_skip(path: Path, side: int, skip_grayscale: bool) -> tuple[np.ndarray | None, str | None, bool]:
    """(square, error, is_gray): one decode, classified."""
    try:
        square = decode_square(path, side)
    except (ValueError, OSError, SyntaxError, EOFError) as exc:  # ImageError is a ValueError
        return None, str(exc) or type(exc).__name__, False
    if skip_grayscale and is_grayscale(square):
        return None, None, True
    return square, None, False


def _warn_skipped(path: Path, reason: str) -> None:
    warnings.warn(f"skipping {path}: {reason}", SkippedImageWarning, stacklevel=3)


def _file_key(files: Sequence[Path], side: int, skip_grayscale: bool) -> str:
    h = hashlib.sha256(f"v{_CACHE_VERSION}|{side}|{skip_grayscale}".encode())
    for p in files:
        st = p.stat() if p.exists() else None
        h.update(f"|{p.resolve()}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}".encode())
    return h.hexdigest()[:20]


class SquareImages:
    """Random access to the usable images of a file list as (side, side, 3) uint8 squares.

    Backed either by a uint8 memmap cache (`cache_dir` given) or by decoding the file on each access. The memmap
    is opened lazily, so the object pickles cheaply into DataLoader workers.
    """

    def __init__(self, files: Sequence[Path], side: int, *, cache_dir: Path | None = None,
                 skip_grayscale: bool = True, progress: bool = False, desc: str = "scanning"):
        self.side = side
        self.skip_grayscale = skip_grayscale
        self.cache_path: Path | None = None
        self._array: np.ndarray | None = None
        files = [Path(p) for p in files]
        if cache_dir is not None:
            self.scan = self._scan_with_cache(files, Path(cache_dir), progress, desc)
        else:
            self.scan = self._scan(files, progress, desc, sink=None)
        self.files = self.scan.usable

    # -- building
    def _scan(self, files: list[Path], progress: bool, desc: str, sink) -> ScanResult:
        result = ScanResult()
        for path in _progress(files, progress, desc):
            square, error, gray = _read_or_skip(path, self.side, self.skip_grayscale)
            if error is not None:
                _warn_skipped(path, error)
                result.skipped.append((path, error))
            elif gray:
                result.grayscale.append(path)
            else:
                if sink is not None:
                    sink(len(result.usable), square)
                result.usable.append(path)
        return result

    def _scan_with_cache(self, files: list[Path], cache_dir: Path, progress: bool, desc: str) -> ScanResult:
        key = _file_key(files, self.side, self.skip_grayscale)
        array_path, index_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
        self.cache_path = array_path
        if index_path.is_file() and array_path.is_file():
            index = json.loads(index_path.read_text())
            # The key covers the same real files; give them back as this caller spells them (a run's folder
            # weights go by the path under --data, which a cache written from elsewhere would not match).
            spelled = {os.path.realpath(p): p for p in files}

            def as_given(stored: str) -> Path:
                return spelled.get(os.path.realpath(stored), Path(stored))

            result = ScanResult(
                usable=[as_given(p) for p in index["usable"]],
                skipped=[(as_given(p), r) for p, r in index["skipped"]],
                grayscale=[as_given(p) for p in index["grayscale"]],
            )
            for path, reason in result.skipped:  # the run summary still reports them, once each
                _warn_skipped(path, reason)
            return result
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp_path = array_path.with_suffix(f".tmp{os.getpid()}.npy")
        shape = (max(1, len(files)), self.side, self.side, 3)
        array = np.lib.format.open_memmap(tmp_path, mode="w+", dtype=np.uint8, shape=shape)

        result = self._scan(files, progress, desc, array.__setitem__)
        array.flush()
        del array  # closes the memmap before the rename
        os.replace(tmp_path, array_path)  # atomic: a half-written cache is never picked up
        index = {
            "side": self.side,
            "usable": [os.path.abspath(p) for p in result.usable],
            "skipped": [[os.path.abspath(p), r] for p, r in result.skipped],
            "grayscale": [os.path.abspath(p) for p in result.grayscale],
        }
        index_path.write_text(json.dumps(index))
        return result

    # -- access
    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> np.ndarray:
        if self.cache_path is None:
            return decode_square(self.files[i], self.side)
        if self._array is None:
            self._array = np.load(self.cache_path, mmap_mode="r")
        return np.array(self._array[i])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_array"] = None
        return state


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="img", leave=False, dynamic_ncols=True)


# ---------------------------------------------------------------------------------------------------- datasets


class PhotoDataset(Dataset):
    """uint8 (crop, crop, 3) tensors from `SquareImages`: random crop + flip when `train`, else the centre."""

    def __init__(self, images: SquareImages, crop: int, *, train: bool, seed: int = 0):
        if crop > images.side:
            raise ValueError(f"crop {crop} is larger than the stored images ({images.side})")
        self.images = images
        self.crop = crop
        self.train = train
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        square = self.images[index]
        margin = self.images.side - self.crop
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            top, left = (int(v) for v in rng.integers(0, margin + 1, size=2))
            flip = bool(rng.integers(0, 2))
        else:
            top = left = margin // 2
            flip = False
        out = square[top : top + self.crop, left : left + self.crop]
        if flip:
            out = out[:, ::-1]
        return torch.from_numpy(np.array(out))  # a writable copy, whatever the source


class EpochSampler(Sampler[int]):
    """Shuffled indices seeded by (seed, epoch), split across `num_replicas` ranks like DistributedSampler.

    `start` skips that many of this rank's indices in the current epoch, so a run interrupted mid-epoch resumes at
    the very batch it stopped at.
    """

    def __init__(self, n: int, *, seed: int = 0, shuffle: bool = True, num_replicas: int = 1, rank: int = 0,
                 drop_last: bool = False, weights: Sequence[float] | None = None):
        if weights is not None and len(weights) != n:
            raise ValueError(f"{len(weights)} sampling weights for {n} photos")
        self.n, self.seed, self.shuffle = n, seed, shuffle
        # With weights, an epoch draws its n indices with replacement in proportion to them (shuffled by nature).
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.num_replicas, self.rank, self.drop_last = num_replicas, rank, drop_last
        self.epoch = 0
        self.start = 0
        if drop_last:
            self.per_rank = n // num_replicas
        else:
            self.per_rank = math.ceil(n / num_replicas)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def indices(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.weights is not None:
            order = torch.multinomial(self.weights, self.n, replacement=True, generator=g).tolist()
        elif self.shuffle:
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.per_rank * self.num_replicas
        if total > len(order):  # pad by repeating, so every rank gets the same count
            order += (order * math.ceil(total / max(1, len(order))))[: total - len(order)]
        return order[:total][self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.start :])

    def __len__(self) -> int:
        return max(0, self.per_rank - self.start)


def folder_sampling_weights(files: Sequence[Path], root: Path, weights: Mapping[str, float]) -> list[float]:
    """Each file's weight: that of its top-level subfolder of `root` in `weights`, else 1.

    A mixed training folder (say 200 natural photos beside 9,000 of ten object classes) can then be drawn in the
    proportions the model should learn from, without copying files or changing the seeded split.
    """
    tops = [_top_folder(Path(f), Path(root)) for f in files]
    unknown = sorted(set(weights) - set(tops))
    if unknown:
        found = sorted({t for t in tops if t})
        raise ValueError(f"folder weights name {', '.join(unknown)}, which holds no training photo of {root} "
                         f"(its folders with some: {', '.join(found) or 'none'})")
    return [weights.get(top, 1.0) for top in tops]


def _top_folder(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts if path.is_relative_to(root) else ()
    return parts[0] if len(parts) > 1 else ""


# ---------------------------------------------------------------------------------------------------- batches


def batch_to_model_space(batch: torch.Tensor, device: torch.device | str = "cpu",
                         channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (B, H, W, 3) -> (L in [-1, 1] (B, 1, H, W), ab in [-1, 1] (B, 2, H, W)), converted as one batch."""
    from colorize.lab import rgb_to_model_space, uint8_to_tensor

    rgb = uint8_to_tensor(batch.to(device, non_blocking=True))
    l_norm, ab_norm = rgb_to_model_space(rgb)
    if channels_last:
        l_norm = l_norm.contiguous(memory_format=torch.channels_last)
        ab_norm = ab_norm.contiguous(memory_format=torch.channels_last)
    else:
        l_norm, ab_norm = l_norm.contiguous(), ab_norm.contiguous()
    return l_norm, ab_norm


@dataclass
class TrainingData:
    """The prepared train and val datasets, plus the bookkeeping the run summary reports."""

    train: PhotoDataset
    val: PhotoDataset
    files_found: int
    skipped: list[tuple[Path, str]]
    grayscale: list[Path]
    #: How often each train photo is drawn relative to the others (None = each once per epoch).
    train_weights: list[float] | None = None


def prepare_data(
    data: Path,
    *,
    size: int = 256,
    load_size: int | None = None,
    max_images: int = 10_000,
    val_images: int = 2_000,
    val_fraction: float = 0.2,
    val_data: Path | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    augment: bool = True,
    folder_weights: Mapping[str, float] | None = None,
    progress: bool = False,
) -> TrainingData:
    """Find, split and scan the photos under `data`; raises a clear error when nothing usable is there.

    `augment=False` gives train photos the val treatment (centre crop, no flip), e.g. to overfit on purpose.
    """
    data = Path(data)
    files = find_images(data)
    if not files:
        raise ValueError(f"{data}: no image files found (looked for {', '.join(sorted(_suffixes()))})")
    val_files = None
    if val_data is not None:
        val_files = find_images(val_data)
        if not val_files:
            raise ValueError(f"{val_data}: no image files found for validation")
    load_size = default_load_size(size) if load_size is None else load_size
    if load_size < size:
        raise ValueError(f"load_size ({load_size}) must be at least size ({size})")
    split = split_files(files, max_images=max_images, val_images=val_images, val_fraction=val_fraction,
                        seed=seed, val_files=val_files)
    train_images = SquareImages(split.train, load_size, cache_dir=cache_dir, progress=progress,
                                desc="reading train images")
    val_images_ = SquareImages(split.val, size, cache_dir=cache_dir, progress=progress, desc="reading val images")
    skipped = train_images.scan.skipped + val_images_.scan.skipped
    grayscale = train_images.scan.grayscale + val_images_.scan.grayscale
    if len(train_images) == 0:
        raise ValueError(
            f"{data}: none of the {len(split.train)} training files is a usable colour photo "
            f"({len(skipped)} unreadable, {len(grayscale)} grayscale)"
        )
    return TrainingData(
        train=PhotoDataset(train_images, size, train=augment, seed=seed),
        val=PhotoDataset(val_images_, size, train=False, seed=seed),
        files_found=len(files) + (len(val_files) if val_files else 0),
        skipped=skipped,
        grayscale=grayscale,
        train_weights=folder_sampling_weights(train_images.files, data, folder_weights) if folder_weights else None,
    )


def _suffixes():
    from colorize.images import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES
