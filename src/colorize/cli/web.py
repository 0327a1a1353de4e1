"""`colorize serve` (the web app) and `colorize export-ratings` (ratings and votes to CSV/JSON).

Options can also come from `COLORIZE_<OPTION>` environment variables (e.g. COLORIZE_DB, COLORIZE_PORT,
COLORIZE_CHECKPOINT=a.safetensors,b.safetensors); a flag on the command line wins over the environment.
"""

from __future__ import annotations

import argparse
import os

from colorize.cli._args import add_config_command, config_from_args
from colorize.web.config import ExportConfig, ServeConfig, env_overrides

ENV_HELP = ("Every option can also be set by an environment variable COLORIZE_<OPTION> (e.g. COLORIZE_DB, "
            "COLORIZE_STORAGE, COLORIZE_MAX_UPLOAD_MB; COLORIZE_CHECKPOINT takes a comma-separated list); flags win.")


def _env_defaults(parser: argparse.ArgumentParser, config_cls: type, skip: tuple[str, ...] = ()) -> None:
    try:
        values = env_overrides(config_cls)
    except ValueError as exc:
        # Reported when the command runs, so a bad variable never breaks `colorize --help`.
        parser.set_defaults(_env_error=str(exc))
        return
    parser.set_defaults(**{k: v for k, v in values.items() if k not in skip})


def _raise_env_error(args: argparse.Namespace) -> None:
    if getattr(args, "_env_error", None):
        raise ValueError(args._env_error)


def register(subparsers) -> None:
    serve = add_config_command(
        subparsers, "serve", ServeConfig, run_serve, skip=("checkpoint",),
        help="run the web app: upload, colorize, rate, compare models",
        description="Serve the web app (FastAPI + uvicorn). " + ENV_HELP,
    )
    serve.add_argument(
        "--checkpoint", dest="checkpoint", action="extend", nargs="+", default=None, metavar="[NAME=]PATH",
        help="model checkpoint to serve (.safetensors or training .pt); repeat for several models, which enables the "
             "blind comparison; NAME= names the model (default: the file name); none: the bundled default model",
    )
    _env_defaults(serve, ServeConfig, skip=("checkpoint",))

    export = add_config_command(
        subparsers, "export-ratings", ExportConfig, run_export,
        help="write every rating and comparison vote to CSV or JSON",
        description="Export ratings and blind-comparison votes from the web app's database. " + ENV_HELP,
    )
    _env_defaults(export, ExportConfig)


def run_serve(args: argparse.Namespace) -> int:
    _raise_env_error(args)
    checkpoints = args.checkpoint
    if checkpoints is None:
        checkpoints = env_overrides(ServeConfig).get("checkpoint", ())
    config = config_from_args(ServeConfig, args, checkpoint=tuple(checkpoints))

    import torch

    from colorize.web.serving import serve

    if "OMP_NUM_THREADS" not in os.environ:
        # Worker threads each run one image; splitting the cores between them (and the processes) avoids
        # oversubscription.
        threads = max(1, (os.cpu_count() or 1) // (config.workers * config.processes))
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # for worker processes, which start their own torch
    serve(config)
    return 0


def run_export(args: argparse.Namespace) -> int:
    _raise_env_error(args)
    config = config_from_args(ExportConfig, args)
    from colorize.web.export import export_evaluations

    summary = export_evaluations(config)
    print(f"wrote {summary['ratings']} ratings to {summary['ratings_path']}")
    print(f"wrote {summary['votes']} votes to {summary['votes_path']}")
    if summary["votes"]:
        print("leaderboard (Bradley-Terry, Elo scale):")
        for entry in summary["leaderboard"]:
            print(f"  {entry.rank}. {entry.model}: {entry.score:.0f} ({entry.wins}-{entry.losses}-{entry.ties}, "
                  f"{entry.votes} votes)")
    return 0
