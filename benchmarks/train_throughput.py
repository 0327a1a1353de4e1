"""Training throughput: images/s of the step `colorize train` runs, against a plain fp32 reference step.

For each generator and stage, builds the networks and the step object exactly as `colorize train` does
(`colorize.train.networks.build_networks`, `colorize.train.steps.build_step`) and times it on a uint8 batch, the batch
converted to L*a*b as the trainer's loop does. In the same run it times the same architecture's step written the
straightforward way (fp32, default memory format, no autocast, Lab conversion one photo per call), alternating the
two so both see the same machine load, and prints the ratio. `--profile` prints a torch.profiler table of where
one GAN step's time goes. Batches are real photos from
--data (default ../shared/datasets/bsds500/train relative to the repo root) when the folder exists, else synthetic.

    python benchmarks/train_throughput.py --steps 2 [--size 256] [--batch-size 16] [--generators pix2pix_unet ...]
    python benchmarks/train_throughput.py --steps 1 --size 128 --generators efficientnet_lite0 --profile
    python benchmarks/train_throughput.py --threads 2 --stages gan --json docs/reports/train-throughput-2threads.json

`--json PATH` also writes the rows as a benchmark report (`benchmarks/bench_report.py`), one table per stage
("gan", "pretrain"), which `scripts/doc_tables.py` renders into README.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bench_report import Report, add_arguments

from colorize.data import batch_to_model_space, decode_square
from colorize.images import find_images
from colorize.lab import rgb_to_model_space, uint8_to_tensor
from colorize.train import TrainConfig
from colorize.train.networks import build_networks
from colorize.train.runtime import Runtime
from colorize.train.steps import build_step

REPO = Path(__file__).resolve().parents[1]
#: "auto" is what `colorize train` picks on this machine; +cl = channels_last.
VARIANTS = ("auto", "fp32", "fp32+cl", "bf16", "bf16+cl")


def load_batch(folder: Path, size: int, batch_size: int) -> torch.Tensor:
    if folder.is_dir():
        files = find_images(folder)[:batch_size]
        if len(files) == batch_size:
            return torch.from_numpy(np.stack([decode_square(p, size) for p in files]))
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.integers(0, 256, (batch_size, size, size, 3), dtype=np.uint8))


def run_config(arch: str, size: int, variant: str) -> TrainConfig:
    """The TrainConfig of a run with this generator and precision variant (ImageNet weights do not change speed)."""
    precision = "auto" if variant == "auto" else variant.split("+")[0]
    channels_last = None if variant == "auto" else variant.endswith("+cl")
    return TrainConfig(generator=arch, size=size, precision=precision, channels_last=channels_last, pretrained=False)


def real_step(arch: str, size: int, variant: str, stage: str) -> tuple[Callable[[torch.Tensor], None], str]:
    """`colorize train`'s own step for this setting, as a function of a uint8 batch; and what it resolved to."""
    config = run_config(arch, size, variant)
    runtime = Runtime(config.device, config.precision, config.channels_last)
    networks = build_networks(config, runtime)
    networks.train_mode()
    step = build_step(stage, networks, config, runtime, {"G": runtime.grad_scaler(), "D": runtime.grad_scaler()})

    def run(batch: torch.Tensor) -> None:
        step(*batch_to_model_space(batch, runtime.device, runtime.channels_last))

    return run, f"{runtime.precision}{' +cl' if runtime.channels_last else ''}"


def reference_step(arch: str, size: int, stage: str) -> Callable[[torch.Tensor], None]:
    """The same networks and losses in a plain fp32 step, written the straightforward way."""
    config = run_config(arch, size, "fp32")
    networks = build_networks(config, Runtime("cpu", "fp32", channels_last=False))
    G, D = networks.generator.train(), networks.discriminator.train()
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(config.beta1, 0.999))

    def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))

    def run(batch: torch.Tensor) -> None:
        pairs = [rgb_to_model_space(uint8_to_tensor(photo[None])) for photo in batch]
        l_norm, ab = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
        fake = G(l_norm)
        if stage == "gan":
            opt_D.zero_grad()
            loss_D = 0.5 * (bce(D(torch.cat([l_norm, fake.detach()], 1)), False)
                            + bce(D(torch.cat([l_norm, ab], 1)), True))
            loss_D.backward()
            opt_D.step()
            D.requires_grad_(False)
        opt_G.zero_grad()
        loss_G = config.lambda_l1 * F.l1_loss(fake, ab)
        if stage == "gan":
            loss_G = loss_G + bce(D(torch.cat([l_norm, fake], 1)), True)
        loss_G.backward()
        opt_G.step()
        D.requires_grad_(True)

    return run


def side_by_side(real: Callable[[torch.Tensor], None], reference: Callable[[torch.Tensor], None],
                 batch: torch.Tensor, steps: int) -> tuple[float, float]:
    """Images/s of the two steps, timed alternately so that both see the same machine load (the fastest of
    `steps` each, the least disturbed by other processes)."""
    seconds: dict[str, list[float]] = {"real": [], "reference": []}
    real(batch), reference(batch)  # warm-up: allocator, oneDNN kernel selection
    for i in range(steps):
        order = (("real", real), ("reference", reference)) if i % 2 == 0 else (("reference", reference), ("real", real))
        for name, step in order:
            start = time.perf_counter()
            step(batch)
            seconds[name].append(time.perf_counter() - start)
    return batch.shape[0] / min(seconds["real"]), batch.shape[0] / min(seconds["reference"])


def profile_gan_step(arch: str, size: int, variant: str, batch: torch.Tensor, rows: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    step, resolved = real_step(arch, size, variant, "gan")
    step(batch)  # warm-up outside the profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(batch)
    print(f"\nwhere one {arch} GAN step's time goes ({resolved}, batch {batch.shape[0]}, {size} px), "
          f"top {rows} ops by self CPU time:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/bsds500/train")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up")
    parser.add_argument("--generators", nargs="+", default=["pix2pix_unet", "efficientnet_lite0"])
    parser.add_argument("--stages", nargs="+", default=["gan", "pretrain"], choices=["gan", "pretrain"])
    parser.add_argument("--variants", nargs="+", default=["auto"], choices=VARIANTS,
                        help="precision settings of the real step (auto = what colorize train picks; +cl = "
                             "channels_last)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: a shared machine)")
    parser.add_argument("--profile", action="store_true", help="also profile one GAN step of each generator")
    parser.add_argument("--profile-rows", type=int, default=15)
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = Report("train_throughput", torch.get_num_threads(), args.machine_note)
    stage_names = {"gan": "GAN", "pretrain": "L1 pretrain"}
    rows: dict[str, list[list]] = {stage: [] for stage in args.stages}

    batch = load_batch(args.data, args.size, args.batch_size)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size} px, batch {args.batch_size}; "
          f"fastest of {args.steps} steps after 1 warm-up, real and reference steps alternating; reference = the "
          "plain fp32 step")
    print(f"{'generator':<20} {'step':<9} {'real step':<12} {'images/s':>9} {'reference':>10} {'ratio':>7}")
    for arch in args.generators:
        for stage in args.stages:
            reference = reference_step(arch, args.size, stage)
            for variant in args.variants:
                step, resolved = real_step(arch, args.size, variant, stage)
                rate, reference_rate = side_by_side(step, reference, batch, args.steps)
                print(f"{arch:<20} {stage:<9} {resolved:<12} {rate:>9.2f} {reference_rate:>10.2f} "
                      f"{rate / reference_rate:>6.2f}x", flush=True)
                rows[stage].append([arch, stage_names[stage], resolved, round(rate, 2), round(reference_rate, 2),
                                    f"{rate / reference_rate:.2f}x"])
        if args.profile:
            profile_gan_step(arch, args.size, args.variants[0], batch, args.profile_rows)
    columns = ["generator", "step", "precision", "`colorize train` img/s", "plain fp32 img/s", "ratio"]
    for stage, stage_rows in rows.items():
        report.table(stage, columns, stage_rows)
    report.write(args.json)


if __name__ == "__main__":
    main()
