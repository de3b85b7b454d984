"""`styleforge demo`: the built-in end-to-end job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from styleforge.cli.parsing import add_device_option
from styleforge.errors import StyleforgeError


def add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="build the demo task from packaged photos, train, stylize and score it",
        description="Photo -> procedural cartoon: trains the lite preset with the default recipe, "
        "then prints the style probe's share and the SSIM gap closed to the ground truth of "
        "held-out photos, beside the identity baseline and the truth.",
    )
    p.add_argument("--out", default="runs/demo", help="demo folder (default runs/demo)")
    p.add_argument("--steps", type=int, help="training steps (default 1000)")
    p.add_argument(
        "--minutes", type=float, help="stop training after this many minutes at most (default 10)"
    )
    p.add_argument(
        "--preset",
        choices=["lite", "base", "resnet9"],
        default="lite",
        help="network size (default lite)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo in --out")
    add_device_option(p, "training, stylizing and scoring run there")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from styleforge.demo_job import DEMO_MINUTES, DEMO_STEPS, run_demo

    minutes = DEMO_MINUTES if args.minutes is None else args.minutes
    steps = DEMO_STEPS if args.steps is None else args.steps
    if minutes <= 0 or steps <= 0:
        raise StyleforgeError("--minutes and --steps must be positive")
    result = run_demo(
        Path(args.out),
        minutes=minutes,
        steps=steps,
        preset=args.preset,
        seed=args.seed,
        overwrite=args.overwrite,
        device=args.device,
    )
    m, i, t = result.style, result.identity_style, result.truth_style
    print(f"model: {result.model} ({result.steps} steps, {result.train_seconds / 60:.1f} min)")
    print("held-out photos     probe share  SSIM to truth  SSIM gap closed  content")
    for name, s in (("identity (input)", i), ("ground truth", t), ("model", m)):
        print(
            f"{name:18s}  {s.probe_share:11.2f}  {s.ssim:13.4f}  {s.ssim_gap_closed:15.3f}"
            f"  {s.content_ssim:7.3f}"
        )
    print(f"report and grid: {result.report}")
    return 0
