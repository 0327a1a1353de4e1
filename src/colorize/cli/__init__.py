"""The `colorize` command: a thin layer over the Python API.

Each group of commands lives in its own module with a `register(subparsers)` function; the options of a command
are generated from its config dataclass (see `_args.py`), so defaults live in one place.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from colorize import __version__

#: Modules under colorize.cli that contribute commands, in the order `colorize --help` lists them.
COMMAND_MODULES = ("train", "models", "infer", "video", "evaluate", "web")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorize",
        description="Turn black-and-white photos into colour ones; train and evaluate colorization models.",
    )
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"colorize.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError) as exc:
        # Expected user errors (missing folder, bad image, bad option) get one line, not a traceback.
        print(f"colorize {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
