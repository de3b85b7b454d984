"""`styleforge train`: its options (generated from the training config) and the command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from styleforge.cli.config_options import HelpAll, add_config_options, apply_config_options
from styleforge.cli.parsing import Parser
from styleforge.config import TrainConfig, apply_preset
from styleforge.errors import StyleforgeError

USAGE = "%(prog)s --content DIR --style DIR --out DIR [options]  |  %(prog)s --resume DIR"
DESCRIPTION = (
    "Train a generator and discriminator; the EMA generator is saved as OUT/model.safetensors."
    " Options left out take the preset's or the config file's values."
)


def add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a style model on a folder of content photos and a folder of style images",
        description=DESCRIPTION,
        usage=USAGE,
    )
    hidden = add_train_options(p, show_all=False)
    p.add_argument(
        "--help-all",
        action=HelpAll,
        full_help=lambda: full_help(p.prog),
        help=f"show this help with {hidden} more options (network shapes, loss details)",
    )
    p.set_defaults(func=cmd_train)


def add_train_options(p: argparse.ArgumentParser, show_all: bool) -> int:
    """The run folder's options, then one per config field; returns how many were hidden."""
    run = p.add_argument_group("run")
    run.add_argument("--out", metavar="DIR", help="run folder for the model, checkpoints and logs")
    run.add_argument(
        "--resume", metavar="DIR", help="continue the run in DIR exactly where it stopped"
    )
    run.add_argument(
        "--config", metavar="YAML", help="read options from a YAML file (as saved in a run)"
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an --out folder that already holds a run",
    )
    return add_config_options(p, {"run": run}, show_all)


def full_help(prog: str) -> str:
    """`train --help` with the advanced options shown."""
    parser = Parser(prog=prog, description=DESCRIPTION, usage=USAGE)
    add_train_options(parser, show_all=True)
    return parser.format_help()


def cmd_train(args: argparse.Namespace) -> int:
    from styleforge.training.api import resume, train
    from styleforge.training.distributed import is_main_process

    if args.resume:
        result = resume(
            args.resume,
            steps=args.steps,
            time_budget=args.time_budget,
            batch_size=args.batch_size,
            device=args.device,
        )
    else:
        if not args.out:
            raise StyleforgeError("give --out DIR (or --resume DIR)")
        result = train(config_from_args(args), args.out, overwrite=args.overwrite)
    state = "interrupted; checkpoint saved" if result.interrupted else "done"
    took = f"{result.steps} steps in {result.seconds / 60:.1f} min"
    if is_main_process():
        print(f"{state}: {took} -> {result.model_path}")
    return 0


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config file's values (or the defaults), then the preset's shape, then the flags."""
    config = TrainConfig.load_yaml(Path(args.config)) if args.config else TrainConfig()
    if args.preset and args.preset != "custom":  # custom: the shape set by the flags
        apply_preset(config.model, args.preset)
    if args.time_budget is not None and args.steps is None:
        config.steps = None
    apply_config_options(args, config, skip=lambda name: name == "preset")
    return config
