"""Training throughput: images/s of one full GAN step (and an L1 pretraining step) on this machine.

For each generator, times the exact step `colorize train` runs (fake ab once, D update on fake.detach() and real,
G update with GAN + lambda x L1) at 256 px, batch 16, in fp32 and bf16 autocast, each with and without
channels_last, and prints a table with the ratio to fp32. Batches are real photos from --data (default
../shared/datasets/bsds500/train relative to the repo root) when the folder exists, else synthetic.

    python benchmarks/train_throughput.py [--steps 3] [--size 256] [--batch-size 16] [--generators pix2pix_unet ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from colorize.data import batch_to_model_space, decode_square
from colorize.images import find_images
from colorize.losses import GANLoss, L1Loss
from colorize.models import PatchDiscriminator, build_generator
from colorize.train.trainer import autocast_context

REPO = Path(__file__).resolve().parents[1]


def load_batch(folder: Path, size: int, batch_size: int) -> torch.Tensor:
    if folder.is_dir():
        files = find_images(folder)[:batch_size]
        if len(files) == batch_size:
            return torch.from_numpy(np.stack([decode_square(p, size) for p in files]))
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.integers(0, 256, (batch_size, size, size, 3), dtype=np.uint8))


def time_steps(arch: str, batch: torch.Tensor, precision: str, channels_last: bool, steps: int, gan: bool) -> float:
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    G = build_generator(arch).to(memory_format=fmt).train()
    D = PatchDiscriminator().to(memory_format=fmt).train()
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gan_loss, l1_loss = GANLoss("vanilla"), L1Loss()
    device = torch.device("cpu")

    def step() -> None:
        l_norm, ab = batch_to_model_space(batch, device, channels_last)
        with autocast_context(device, precision):
            fake = G(l_norm)
        if gan:
            opt_D.zero_grad(set_to_none=True)
            with autocast_context(device, precision):
                pf, pr = D(torch.cat([l_norm, fake.detach()], 1)), D(torch.cat([l_norm, ab], 1))
            (0.5 * (gan_loss(pf, False) + gan_loss(pr, True))).backward()
            opt_D.step()
            D.requires_grad_(False)
        opt_G.zero_grad(set_to_none=True)
        loss = l1_loss(fake, ab)
        if gan:
            with autocast_context(device, precision):
                pred = D(torch.cat([l_norm, fake], 1))
            loss = loss + gan_loss(pred, True)
        loss.backward()
        opt_G.step()
        D.requires_grad_(True)

    step()  # warm-up: allocator, oneDNN kernel selection
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/bsds500/train")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--generators", nargs="+", default=["pix2pix_unet", "efficientnet_lite0"])
    parser.add_argument("--modes", nargs="+", default=["gan", "pretrain"], choices=["gan", "pretrain"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp32+cl", "bf16", "bf16+cl"],
                        choices=["fp32", "fp32+cl", "bf16", "bf16+cl"], help="+cl = channels_last")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    batch = load_batch(args.data, args.size, args.batch_size)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size} px, batch {args.batch_size}, "
          f"{args.steps} timed steps after 1 warm-up")
    ratio = "vs " + args.precisions[0]
    print(f"{'generator':<20} {'step':<9} {'precision':<10} {'channels_last':<14} {'images/s':>9} {ratio:>10}")
    for arch in args.generators:
        for mode in args.modes:
            base = None
            for name in args.precisions:
                precision, channels_last = name.split("+")[0], name.endswith("+cl")
                rate = time_steps(arch, batch, precision, channels_last, args.steps, gan=mode == "gan")
                base = rate if base is None else base
                print(f"{arch:<20} {mode:<9} {precision:<10} {str(channels_last):<14} {rate:>9.2f} "
                      f"{rate / base:>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
