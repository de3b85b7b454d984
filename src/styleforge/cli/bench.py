"""`styleforge bench`: speed, memory and (with --quality) the quality benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from styleforge.cli.parsing import add_device_option, comma_list
from styleforge.errors import StyleforgeError


def add_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="measure stylizing (or training) speed and memory on this machine",
        description="Latency, images/s, MACs, parameters and peak RSS per preset x size x "
        "backend, with the ratio to the CycleGAN ResNet-9 generator (fp32) timed in the same run; "
        "--train: training; --video: whole videos beside the generator and the floor.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--train", action="store_true", help="training steps/s instead of inference")
    mode.add_argument(
        "--video",
        action="store_true",
        help="stylize synthetic 30 fps clips end to end: fps, the generator's share, the floor "
        "(decode + encode alone)",
    )
    mode.add_argument(
        "--quality",
        action="store_true",
        help="train each --recipe on each style task for --minutes, score against ground truth "
        "(docs/quality.md)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--presets", help="comma-separated presets (default lite,base,resnet9; --video: lite)"
    )
    p.add_argument(
        "--sizes",
        help="comma-separated image sides (default 256,512,1024; 4k adds a 3840x2160 photo "
        "untiled and with --tile 512, exact and fast: minutes, and GiB untiled); --video: 16:9 "
        "frame heights (default 480,720,1080)",
    )
    p.add_argument("--frames", type=int, default=60, help="--video: frames per clip (default 60)")
    p.add_argument(
        "--backends",
        default="fp32,bf16,onnx",
        help="comma-separated: fp32, bf16, onnx, compile (torch.compile fp32; slow to build)",
    )
    p.add_argument(
        "--content-losses",
        default="none,nce,cycle",
        help="--train: content losses (none: the default recipe; default none,nce,cycle)",
    )
    p.add_argument("--crop-size", type=int, default=128, help="--train: crop side (default 128)")
    p.add_argument(
        "--batch-size", type=int, default=4, help="--train, --video: batch size (default 4)"
    )
    p.add_argument("--repeats", type=int, default=10, help="timed runs per case (at most)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=10.0,
        help="stop repeating a case after this long, once 3 runs are in (default 10)",
    )
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
    add_device_option(
        p,
        "the networks timed run there (the onnx backend only on the CPU); --quality trains and "
        "scores there",
    )
    q = p.add_argument_group("--quality")
    q.add_argument(
        "--styles",
        help="tasks: cartoon,smooth,pencil,grade,oil and painting (default: all; painting only "
        "with the Debian packages)",
    )
    q.add_argument("--minutes", type=float, default=10.0, help="training budget per run (def. 10)")
    q.add_argument(
        "--recipe",
        action="append",
        metavar="NAME=OPTIONS",
        help="a recipe: train options in quotes, e.g. 'r1=--r1-gamma 1' (repeatable; default: "
        "the default recipe and resnet9-cycle, CycleGAN's setup: see docs/quality.md)",
    )
    q.add_argument("--jobs", type=int, default=1, help="training runs side by side (threads split)")
    q.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    q.add_argument("--out", default="runs/quality", help="work folder (default runs/quality)")
    q.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    q.add_argument(
        "--rescore",
        action="store_true",
        help="score the models an earlier run left in --out again, without training",
    )
    q.add_argument(
        "--debian-cache",
        default=str(Path.home() / ".cache" / "styleforge" / "debian"),
        help="where Debian packages' images are unpacked (default ~/.cache/styleforge/debian)",
    )
    q.add_argument(
        "--no-debian",
        action="store_true",
        help="pip-packaged photos only: no Debian photos, no painting task (works offline)",
    )
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from styleforge.bench import report
    from styleforge.device import pick_device, set_threads

    device = pick_device(args.device)  # one missing is one error line, before any work
    threads = set_threads(args.threads)
    if args.quality:  # training runs in child processes, each given its own --threads
        return quality_bench(args)
    presets = comma_list(args.presets or ("lite" if args.video else "lite,base,resnet9"), str)
    sizes, photo_4k = square_sizes(args.sizes or ("480,720,1080" if args.video else "256,512,1024"))
    if photo_4k and (args.video or args.train):
        raise StyleforgeError("--sizes 4k is for the inference rows (not --video or --train)")
    common = dict(repeats=args.repeats, max_seconds=args.max_seconds, threads=threads)
    if args.repeats < 1 or args.max_seconds < 0:
        raise StyleforgeError("--repeats must be at least 1 and --max-seconds >= 0")
    for preset in presets:
        if preset not in ("lite", "base", "resnet9"):
            raise StyleforgeError(f"unknown preset {preset!r}; choose from lite, base, resnet9")
    if args.train:
        from styleforge.bench.training import run_train_bench

        losses = comma_list(args.content_losses, str)
        rows = [run_train_bench(
            presets, losses, crop_size=args.crop_size, batch_size=args.batch_size,
            device=str(device), **common,
        )]  # fmt: skip
    elif args.video:
        from styleforge.bench.video import run_video_bench

        if args.frames < 1 or args.batch_size < 1:
            raise StyleforgeError("--frames and --batch-size must be at least 1")
        rows = [run_video_bench(
            presets, sizes, frames=args.frames, batch_size=args.batch_size, device=device,
            **common,
        )]  # fmt: skip
    else:
        backends = comma_list(args.backends, str)
        rows = inference_tables(presets, sizes, photo_4k, backends, device, common)
    kind = "train" if args.train else "video" if args.video else "inference"
    if args.json:
        print(report.to_json(kind, [row for table in rows for row in table], device))
    else:
        print("\n\n".join(report.to_markdown(table) for table in rows))
    return 0


def square_sizes(text: str) -> tuple[list[int], bool]:
    """--sizes: the sides it lists, and whether it asks for the 4K photo (`4k`)."""
    parts = comma_list(text, str)
    squares = [part for part in parts if part.lower() != "4k"]
    return (comma_list(",".join(squares), int) if squares else []), len(squares) < len(parts)


def inference_tables(
    presets: list[str],
    sizes: list[int],
    photo_4k: bool,
    backends: list[str],
    device: Any,
    common: dict[str, Any],
) -> list[list[Any]]:
    """The square sizes' rows and the 4K photo's, each as a table of its own where asked."""
    from styleforge.bench.inference import run_inference_bench

    tables = []
    if sizes:
        tables.append(run_inference_bench(presets, sizes, backends, device=device, **common))
    if photo_4k:
        from styleforge.bench.photo_4k import run_photo_4k_bench

        timing = dict(repeats=common["repeats"], max_seconds=common["max_seconds"])
        tables.append(run_photo_4k_bench(presets, backends, device=device, **timing))
    return tables


def quality_bench(args: argparse.Namespace) -> int:
    from styleforge.bench.quality import parse_recipes, run_quality_bench, to_markdown
    from styleforge.bench.quality_data import build_tasks
    from styleforge.data.procedural import STYLES

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not (args.overwrite or args.rescore):
        raise StyleforgeError(f"{out} holds an earlier run; pass --overwrite to replace it")
    if args.minutes <= 0 or args.jobs < 1:
        raise StyleforgeError("--minutes must be > 0 and --jobs at least 1")
    recipes = parse_recipes(args.recipe)
    cache = None if args.no_debian else Path(args.debian_cache)
    if args.styles:
        styles = comma_list(args.styles, str)
        painting = "painting" in styles
    else:
        styles, painting = list(STYLES), cache is not None
    styles = [s for s in styles if s != "painting"]
    tasks = build_tasks(out / "data", styles, cache, painting=painting)
    rows = run_quality_bench(
        tasks, recipes, out, args.minutes, jobs=args.jobs, threads=args.threads, seed=args.seed,
        train=not args.rescore, device=args.device,
    )  # fmt: skip
    print(to_markdown(rows))
    print(f"outputs, grids and quality.json in {out}")
    return 0
