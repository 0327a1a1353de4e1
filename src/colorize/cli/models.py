"""`colorize models`: the generator architectures this install knows, with their size and cost, and the
discriminator kinds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ModelsConfig:
    size: int = field(default=256, metadata={"help": "image side in pixels at which FLOPs are counted"})


def format_table(infos) -> str:
    header = ("arch", "params (M)", "GFLOPs", "pretrained weights")
    rows = []
    for info in infos:
        if info.pretrained is None:
            pretrained = "- (trained from scratch)"
        else:
            pretrained = "available" if info.pretrained else "not on this machine"
        params = "n/a" if info.params is None else f"{info.params / 1e6:.2f}"
        flops = "n/a" if info.flops is None else f"{info.flops / 1e9:.2f}"
        rows.append((info.arch, params, flops, f"{pretrained}; {info.note}" if info.note else pretrained))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for r in (header, *rows):
        lines.append("  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:-1], widths[1:])), r[-1]]))
    return "\n".join(lines)


def run_models(args) -> int:
    from colorize.cli._args import config_from_args
    from colorize.models import discriminator_options, list_discriminators
    from colorize.models.stats import describe_architectures

    config = config_from_args(ModelsConfig, args)
    if config.size < 32 or config.size % 32:
        raise ValueError(f"--size must be a positive multiple of 32, got {config.size}")
    print(f"generator architectures (FLOPs for one {config.size}x{config.size} image, multiply-add = 2 FLOPs)")
    print(format_table(describe_architectures(config.size)))
    print("\ndiscriminator kinds (--discriminator) and their options (--discriminator-option KEY=VALUE)")
    for kind in list_discriminators():
        print(f"{kind}: {', '.join(discriminator_options(kind) or ('any',))}")
    return 0


def register(subparsers) -> None:
    from colorize.cli._args import add_config_command

    add_config_command(
        subparsers, "models", ModelsConfig, run_models,
        help="list the generator architectures with parameters and FLOPs, and the discriminator kinds",
        description="List the generator architectures (names for --generator) with their parameter counts, FLOPs "
        "at --size px, and whether their pretrained ImageNet weights are on this machine; then the discriminator "
        "kinds (names for --discriminator) with their options.",
    )
