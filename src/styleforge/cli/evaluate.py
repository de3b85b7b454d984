"""`styleforge evaluate` and `styleforge data check`: look at results and at data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from styleforge.cli.parsing import Parser, add_device_option


def add_evaluate(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score one or more models on test photos (paired truth and/or a style set)",
        description="Stylize --content with each model and score the outputs beside the untouched "
        "input: SSIM/PSNR/MSE against --reference images of the same names, and FD-ENL0/KD-ENL0 "
        "to a --style set with the content kept. Writes report.html, metrics.json, metrics.png.",
    )
    p.add_argument("models", nargs="+", help="model files to compare (model.safetensors)")
    p.add_argument("--content", required=True, metavar="DIR", help="test photos to stylize")
    p.add_argument(
        "--reference", metavar="DIR", help="ground truth: one image per test photo, same name"
    )
    p.add_argument("--style", metavar="DIR", help="style images for the distribution distances")
    p.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="FID Inception weights (pt_inception-2015-12-05-6726825d.pth) for standard FID/KID",
    )
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="noise seed for every model (default 0)")
    add_device_option(
        p, "the models and the feature networks (EfficientNet-Lite0, Inception) run there"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from styleforge.evaluation.evaluate import run_evaluation

    optional = {"reference": args.reference, "style": args.style}
    metrics = run_evaluation(
        [Path(m) for m in args.models],
        Path(args.content),
        Path(args.out),
        inception_weights=Path(args.inception_weights) if args.inception_weights else None,
        device=args.device,
        seed=args.seed,
        overwrite=args.overwrite,
        **{k: Path(v) for k, v in optional.items() if v},
    )
    rows = metrics["models"]
    keys = list(next(iter(rows.values())))
    width = max(len(name) for name in rows)
    print(" ".join([f"{'model':{width}s}", *(f"{k:>13s}" for k in keys)]))
    for name, scores in rows.items():
        print(" ".join([f"{name:{width}s}", *(f"{scores[k]:13.4f}" for k in keys)]))
    for note in metrics["notes"]:
        print(f"note: {note}")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0


def add_data(sub: Any) -> None:
    p = sub.add_parser("data", help="inspect data sets")
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", parser_class=Parser)
    data_sub.required = True
    check = data_sub.add_parser(
        "check",
        help="count usable images per style and name the unusable ones",
        description="Open every image under each folder and report counts and problems.",
    )
    check.add_argument("folders", nargs="+", help="folders to check (subfolders: one style each)")
    check.set_defaults(func=cmd_data_check)


def cmd_data_check(args: argparse.Namespace) -> int:
    from styleforge.data.check import check_folders

    report = check_folders([Path(f) for f in args.folders])
    print(report.render())
    return 0 if report.usable else 1
