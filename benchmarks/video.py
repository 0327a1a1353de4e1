"""Video colouring: flicker, accuracy and speed of per-frame colouring against the stabilised path.

    python benchmarks/video.py                       # 480p and 1080p, 3 clips of 24 frames, bundled model
    python benchmarks/video.py --sizes 480 --frames 12

Clips are built from real colour photos (BSDS500 val by default), so the true colour of every frame is known:
  - pan_zoom: a slow pan and zoom over one photo;
  - object:   an elliptical cut-out of one photo moving over another photo;
  - cuts:     three photos, each slowly panned, with hard cuts between them.
The gray version of each clip (same CIE L as the colour frames) is encoded to H.264 (crf 10) and colorized end to
end with `colorize_video` twice: --stabilize 0 (every frame coloured alone) and the stabilised path. The outputs are
decoded and scored against the true colour frames:
  - flicker: how much more the colour of a point changes from one frame to the next than its true colour does,
    following the point along its known motion (the clips are built, so where every pixel was in the previous
    frame is known): max(0, |ab_t - moved ab_t-1| - |true_ab_t - moved true_ab_t-1|), |.| the a*b* distance in
    Lab units, averaged over pixels and consecutive frame pairs. Pairs across a cut, pixels that just came into
    view and the blended rim of the moving object are left out;
  - PSNR (dB) of the RGB frames against the true colour frames, over the whole clip;
  - frames/s of the whole `colorize_video` run (decode, network, stabilisation, full-resolution join, H.264
    encode at the default crf 18, preset veryfast), best of --repeats runs.
The machine is shared: the load average is printed, and speeds can move by 2x with it.

`--json PATH` also writes a benchmark report (`benchmarks/bench_report.py`): the table "clips" (the row per clip
and size above, and their mean) and, with --sweep / --sweep-no-flow, "strengths" (means over the clips per path),
which `scripts/doc_tables.py` renders into README.md:

    python benchmarks/video.py --json docs/reports/video.json
    python benchmarks/video.py --sizes 240 --repeats 1 --sweep 0.5 0.95 --sweep-no-flow --json docs/reports/video-strengths.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from bench_report import Report, add_arguments

REPO = Path(__file__).resolve().parents[1]
CLIP_NAMES = {"pan_zoom": "pan and zoom", "object": "moving object", "cuts": "cuts"}
ASPECT = 16 / 9
FPS = 24


def _srgb_to_linear(v):
    import numpy as np

    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


def gray_of(rgb):
    """The sRGB gray with the same luminance (so the same CIE L) as each pixel of `rgb`."""
    import numpy as np

    linear = _srgb_to_linear(rgb.astype(np.float64) / 255)
    y = linear @ np.array([0.212671, 0.715160, 0.072169])
    gray = np.where(y > 0.0031308, 1.055 * np.power(np.maximum(y, 0.0031308), 1 / 2.4) - 0.055, 12.92 * y)
    return np.repeat(np.clip(np.rint(gray * 255), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def crop_matrix(photo_shape, center, crop_height, size):
    """Affine map (2x3) from output pixels to photo pixels for a 16:9 crop around `center` (x, y), `crop_height`
    photo pixels tall, shown at `size` (w, h)."""
    import numpy as np

    width, height = size
    scale = crop_height / height
    cx, cy = center
    return np.array([[scale, 0, cx - width * scale / 2], [0, scale, cy - height * scale / 2]])


def warp(image, matrix, size, interpolation=None):
    """`image` sampled at `matrix` @ (x, y, 1) for every output pixel: sub-pixel motion, as a real camera's."""
    import cv2

    flags = (cv2.INTER_CUBIC if interpolation is None else interpolation) | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(image, matrix, size, flags=flags, borderMode=cv2.BORDER_REFLECT)


def previous_position(matrix_now, matrix_before, size):
    """For each pixel of a frame, where the same photo point was in the previous frame: (map_x, map_y) float32."""
    import numpy as np

    width, height = size
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    point_x = matrix_now[0, 0] * grid_x + matrix_now[0, 1] * grid_y + matrix_now[0, 2]
    point_y = matrix_now[1, 0] * grid_x + matrix_now[1, 1] * grid_y + matrix_now[1, 2]
    inverse = np.linalg.inv(np.vstack([matrix_before, [0, 0, 1]]))
    before_x = inverse[0, 0] * point_x + inverse[0, 1] * point_y + inverse[0, 2]
    before_y = inverse[1, 0] * point_x + inverse[1, 1] * point_y + inverse[1, 2]
    return before_x.astype(np.float32), before_y.astype(np.float32)


def pan_zoom(photo, frames, size):
    """Frames, and for each frame after the first where its pixels were in the previous frame (None: a cut)."""
    h, w = photo.shape[:2]
    top_height = min(h, w / ASPECT) * 0.95
    clip, motion, before = [], [], None
    for t in range(frames):
        s = t / max(1, frames - 1)
        crop_height = top_height * (1 - 0.2 * s)  # zoom in by 25 % over the clip
        center = (w / 2 + (s - 0.5) * 0.1 * w, h / 2 + (s - 0.5) * 0.05 * h)
        matrix = crop_matrix(photo.shape, center, crop_height, size)
        clip.append(warp(photo, matrix, size))
        motion.append(None if before is None else previous_position(matrix, before, size))
        before = matrix
    return clip, motion


def moving_object(background, source, frames, size):
    import cv2
    import numpy as np

    width, height = size
    back = warp(background, crop_matrix(background.shape, (background.shape[1] / 2, background.shape[0] / 2),
                                        min(background.shape[0], background.shape[1] / ASPECT) * 0.95, size), size)
    object_size = (int(height * 0.5 * ASPECT), int(height * 0.5))
    cut = warp(source, crop_matrix(source.shape, (source.shape[1] / 2, source.shape[0] / 2),
                                   min(source.shape[0], source.shape[1] / ASPECT) * 0.6, object_size), object_size)
    mask = np.zeros(cut.shape[:2], np.float32)
    cv2.ellipse(mask, (cut.shape[1] // 2, cut.shape[0] // 2), (cut.shape[1] // 2 - 2, cut.shape[0] // 2 - 2), 0, 0,
                360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    clip, motion, before = [], [], None
    for t in range(frames):
        s = t / max(1, frames - 1)
        offset = np.array([(0.05 + 0.5 * s) * width, (0.4 + 0.1 * np.sin(np.pi * s)) * height - object_size[1] / 2])
        to_object = np.array([[1, 0, -offset[0]], [0, 1, -offset[1]]])  # frame pixel -> cut-out pixel
        layer = cv2.warpAffine(cut, to_object, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        alpha = cv2.warpAffine(mask, to_object, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        clip.append(np.clip(back * (1 - alpha[..., None]) + layer * alpha[..., None] + 0.5, 0, 255).astype(np.uint8))
        if before is None:
            motion.append(None)
        else:
            # Object pixels moved with the object, background pixels stayed; pixels that changed layer (or sit on
            # the blended rim) have no previous position.
            shift = offset - before[0]
            on_object, was_on_object = alpha > 0.99, before[1] > 0.99
            map_x = np.where(on_object, grid_x - np.float32(shift[0]), grid_x)
            map_y = np.where(on_object, grid_y - np.float32(shift[1]), grid_y)
            previous_alpha = cv2.remap(before[1], map_x, map_y, cv2.INTER_NEAREST)
            valid = (on_object & (previous_alpha > 0.99)) | ((alpha < 0.01) & (before[1] < 0.01) & ~was_on_object)
            map_x[~valid] = -1e6  # sampled outside the frame: left out of the score
            motion.append((map_x, map_y))
        before = (offset, alpha)
    return clip, motion


def cuts(photos, frames, size):
    clip, motion = [], []
    shot = frames // len(photos)
    for index, photo in enumerate(photos):
        part, part_motion = pan_zoom(photo, shot if index < len(photos) - 1 else frames - len(clip), size)
        clip.extend(part)
        motion.extend(part_motion)  # the first frame of each shot has None: a cut
    return clip, motion


def write_gray_clip(frames, path):
    from colorize.video.writer import VideoWriter

    height, width = frames[0].shape[:2]
    writer = VideoWriter(path, width=width, height=height, time_base=Fraction(1, FPS), frame_rate=Fraction(FPS),
                         crf=10, preset="veryfast")
    for index, rgb in enumerate(frames):
        writer.write_frame(gray_of(rgb), index)
    writer.commit()


def read_frames(path):
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def lab_ab(rgb):
    import cv2
    import numpy as np

    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[..., 1:]


def score(output, truth, motion):
    """(flicker, PSNR) of colorized frames against the true colour frames; see the module's docstring."""
    import cv2
    import numpy as np

    if len(output) != len(truth):
        raise RuntimeError(f"{len(output)} frames out for {len(truth)} in")
    squared = [np.mean((o.astype(np.float64) - t) ** 2) for o, t in zip(output, truth)]
    psnr = 10 * np.log10(255**2 / np.mean(squared))
    predicted, true = [lab_ab(o) for o in output], [lab_ab(t) for t in truth]
    excess = []
    for t in range(1, len(truth)):
        if motion[t] is None:
            continue
        map_x, map_y = motion[t]
        valid = (map_x >= 0) & (map_x <= map_x.shape[1] - 1) & (map_y >= 0) & (map_y <= map_x.shape[0] - 1)

        def change(ab):
            moved = cv2.remap(ab[t - 1], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            return np.linalg.norm(ab[t] - moved, axis=-1)

        excess.append(np.maximum(change(predicted) - change(true), 0)[valid].mean())
    return float(np.mean(excess)), float(psnr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared/datasets/bsds500/val")
    parser.add_argument("--sizes", type=int, nargs="+", default=[480, 1080], help="frame heights (16:9 frames)")
    parser.add_argument("--frames", type=int, default=24, help="frames per clip")
    parser.add_argument("--stabilize", type=float, default=None, help="strength of the stabilised path "
                        "(default: VideoConfig's)")
    parser.add_argument("--flow", action=argparse.BooleanOptionalAction, default=True,
                        help="stabilise along the optical flow (VideoConfig.flow)")
    parser.add_argument("--threads", type=int, default=1, help="torch, onnxruntime and codec threads")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each path (best counts)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="generator; default: the bundled model")
    parser.add_argument("--sweep", type=float, nargs="+", default=[], metavar="S",
                        help="also colorize every clip at these strengths (a table of means: flicker, PSNR gain)")
    parser.add_argument("--sweep-no-flow", action="store_true",
                        help="also colorize every clip at the main strength without the flow")
    add_arguments(parser)
    args = parser.parse_args()

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    from colorize.infer import Colorizer
    from colorize.video import VideoConfig, colorize_video

    paths = sorted(args.photos.glob("*.jpg"))[:6]
    if len(paths) < 6:
        raise SystemExit(f"need 6 photos in {args.photos}, found {len(paths)}")
    photos = [np.asarray(Image.open(path).convert("RGB")) for path in paths]
    strength = VideoConfig().stabilize if args.stabilize is None else args.stabilize
    # The paths each clip is colorized by: (label, --stabilize, flow). The first two make the main table.
    runs = [("per frame", 0.0, True), (f"{strength}{'' if args.flow else ' --no-flow'}", strength, args.flow)]
    runs += [(f"{s}", s, True) for s in args.sweep if (f"{s}", s, True) not in runs]
    if args.sweep_no_flow and args.flow:
        runs.append((f"{strength} --no-flow", strength, False))
    colorizer = Colorizer(checkpoint=args.checkpoint, num_threads=args.threads)
    report = Report("video", args.threads, args.machine_note)
    print(f"model {colorizer.name} ({colorizer.arch}), render size {colorizer.options.render_size}, "
          f"{args.threads} thread(s), stabilise strength {strength}{'' if args.flow else ' without flow'}; "
          f"photos {', '.join(p.name for p in paths)}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'clip':<10} {'size':>9} {'frames':>6} | {'flicker':>7} {'stab.':>6} {'ratio':>5} | "
          f"{'PSNR':>6} {'stab.':>6} {'diff':>6} | {'fps':>5} {'stab.':>5}")
    scores: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in runs}
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for height in args.sizes:
            size = (round(height * ASPECT / 2) * 2, height)
            clips = {
                "pan_zoom": pan_zoom(photos[0], args.frames, size),
                "object": moving_object(photos[1], photos[2], args.frames, size),
                "cuts": cuts(photos[3:6], args.frames, size),
            }
            for name, (truth, motion) in clips.items():
                source = Path(tmp) / f"{name}_{height}.mp4"
                write_gray_clip(truth, source)
                best = {label: float("inf") for label, _, _ in runs}
                for _ in range(args.repeats):  # alternated, best of each: the machine's load comes and goes
                    for index, (label, stabilize, flow) in enumerate(runs):
                        config = VideoConfig(input=source, output=Path(tmp) / f"{name}_{height}_{index}.mp4",
                                             stabilize=stabilize, flow=flow, inference=colorizer.options,
                                             progress=False, overwrite=True)
                        started = time.perf_counter()
                        colorize_video(config, colorizer=colorizer)
                        best[label] = min(best[label], time.perf_counter() - started)
                results = []
                for index, (label, _, _) in enumerate(runs):
                    flicker, psnr = score(read_frames(Path(tmp) / f"{name}_{height}_{index}.mp4"), truth, motion)
                    scores[label].append((flicker, psnr))
                    results.append((flicker, psnr, len(truth) / best[label]))
                (f0, p0, s0), (f1, p1, s1) = results[:2]
                print(f"{name:<10} {size[0]:>4}x{size[1]:<4} {len(truth):>6} | {f0:7.3f} {f1:6.3f} {f1 / f0:5.2f} | "
                      f"{p0:6.2f} {p1:6.2f} {p1 - p0:+6.2f} | {s0:5.2f} {s1:5.2f}", flush=True)
                table.append([CLIP_NAMES[name], f"{size[0]}x{size[1]}", round(f0, 2), round(f1, 2),
                              round(f1 / f0, 2), round(p0, 2), f"{p1:.2f} ({p1 - p0:+.2f})", round(s0, 1),
                              round(s1, 1)])
    means = {label: (float(np.mean([f for f, _ in pairs])), float(np.mean([p for _, p in pairs])))
             for label, pairs in scores.items()}
    (f0, p0), (f1, p1) = means[runs[0][0]], means[runs[1][0]]
    print(f"{'mean':<10} {'':>9} {'':>6} | {f0:7.3f} {f1:6.3f} {f1 / f0:5.2f} | {p0:6.2f} {p1:6.2f} {p1 - p0:+6.2f} |")
    table.append(["**mean**", None, round(f0, 2), round(f1, 2), f"**{f1 / f0:.2f}**", round(p0, 2),
                  f"{p1:.2f} (**{p1 - p0:+.2f}**)", None, None])
    report.table("clips", ["clip", "size", "flicker, per frame", "flicker, stabilised", "ratio", "PSNR per frame",
                           "PSNR stabilised", "frames/s per frame", "frames/s stabilised"], table)
    if len(runs) > 2:
        print("means of the clips per path: " + "; ".join(
            f"{label}: flicker {f:.2f}, PSNR {p - p0:+.2f}" for label, (f, p) in means.items()))
        default = VideoConfig().stabilize
        order = sorted(runs, key=lambda run: (not run[2], run[1]))  # by strength, the runs without flow last

        def name(label: str, stabilize: float, flow: bool) -> str:
            if stabilize == 0:
                return "0 (per frame)"
            return f"{stabilize}{' (default)' if stabilize == default and flow else ''}{'' if flow else ' --no-flow'}"

        report.table("strengths", ["`--stabilize`", "flicker", "PSNR gain, dB"],
                     [[name(*run), round(means[run[0]][0], 2),
                       0 if run[1] == 0 else f"{means[run[0]][1] - p0:+.2f}"] for run in order])
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    report.write(args.json)
    return 0

if __name__ == "__main__":
    sys.exit(main())
