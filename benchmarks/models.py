"""Size and speed of every generator buildable here, on this machine's CPU.

For each: parameters, GFLOPs at 256 px, a training step (L1 loss only, Adam) in images/s at 256 px batch 8 in fp32
and under bf16 autocast, and inference latency at 256 px batch 1 in fp32 / bf16, contiguous vs channels_last.
The efficientnet_lite0 encoder U-Net is also timed with the PixelShuffle decoder, which decided the default upsample.

    python benchmarks/models.py                  # all variants, about 3 minutes on 2 idle cores
    python benchmarks/models.py --threads 1 --clock cpu   # per-core numbers that hold on a busy machine
    python benchmarks/models.py --variants pix2pix_unet efficientnet_lite0 --train-steps 2

Timings are the best (minimum) of the measured repeats after one warm-up: on a shared machine the minimum is the
least disturbed by other processes, and the closest to what an idle machine gives.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F

from colorize.models import build_generator
from colorize.models.backbones import BackboneUnavailableError
from colorize.models.stats import count_flops, count_parameters

#: name -> (arch, config). Encoder U-Nets are built without ImageNet weights: speed does not depend on them.
VARIANTS = {
    "pix2pix_unet": ("pix2pix_unet", {}),
    "efficientnet_lite0": ("efficientnet_lite0", {"pretrained": False}),
    "efficientnet_lite0/pixelshuffle": ("efficientnet_lite0", {"pretrained": False, "upsample": "pixelshuffle"}),
    "efficientnet_lite1": ("efficientnet_lite1", {"pretrained": False}),
    "efficientnet_lite2": ("efficientnet_lite2", {"pretrained": False}),
    "resnet18": ("resnet18", {"pretrained": False}),
    "resnet34": ("resnet34", {"pretrained": False}),
}


def _autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


#: "wall" (perf_counter) or "cpu" (process CPU time). CPU time with --threads 1 is the measure that survives a
#: machine shared with other jobs: it counts only the cycles this process got, i.e. the single-core idle speed.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def _best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, oneDNN primitive caches
    times = []
    for _ in range(repeats):
        start = _clock()
        fn()
        times.append(_clock() - start)
    return min(times)


def train_images_per_second(model, size: int, batch: int, steps: int, bf16: bool) -> float:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    l_norm = torch.rand(batch, 1, size, size) * 2 - 1
    target = torch.rand(batch, 2, size, size) * 2 - 1

    def step():
        optimizer.zero_grad(set_to_none=True)
        with _autocast(bf16):
            loss = F.l1_loss(model(l_norm).float(), target)
        loss.backward()
        optimizer.step()

    return batch / _best_seconds(step, steps)


def inference_ms(model, size: int, runs: int, bf16: bool, channels_last: bool) -> float:
    model.eval()
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    l_norm = (torch.rand(1, 1, size, size) * 2 - 1).contiguous(memory_format=memory_format)

    def run():
        with torch.inference_mode(), _autocast(bf16):
            model(l_norm)

    try:
        return 1000 * _best_seconds(run, runs)
    finally:
        model.to(memory_format=torch.contiguous_format)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=1, help="measured training steps per setting")
    parser.add_argument("--infer-runs", type=int, default=5, help="measured inference runs per setting")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall time, or process CPU time (use with --threads 1 on a busy machine)")
    args = parser.parse_args()
    global _clock
    _clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} clock, {args.size} px; "
          f"train: batch {args.batch}, L1 + Adam; inference: batch 1")
    header = ("generator", "params M", "GFLOPs", "train img/s fp32", "train img/s bf16",
              "infer ms fp32", "fp32 CL", "bf16", "bf16 CL")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name in args.variants:
        arch, config = VARIANTS[name]
        try:
            model = build_generator(arch, **config)
        except BackboneUnavailableError as exc:
            print(f"{name} | skipped: {str(exc).split(';')[0]}")
            continue
        params = count_parameters(model) / 1e6
        gflops = count_flops(model.eval(), args.size) / 1e9
        train = [train_images_per_second(model, args.size, args.batch, args.train_steps, bf16) for bf16 in (False, True)]
        infer = [
            inference_ms(model, args.size, args.infer_runs, bf16, cl)
            for bf16 in (False, True)
            for cl in (False, True)
        ]
        cells = [name, f"{params:.2f}", f"{gflops:.2f}", *(f"{v:.2f}" for v in train), *(f"{v:.0f}" for v in infer)]
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
