"""`styleforge stylize` and `styleforge export`: inference commands and their style-code options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from styleforge.cli.parsing import add_device_option
from styleforge.errors import StyleforgeError


def add_stylize(sub: Any) -> None:
    p = sub.add_parser(
        "stylize",
        help="stylize images, globs or folders with a trained model",
        description="Stylize images. Outputs keep the input's file name and pixel size.",
    )
    p.add_argument("model", help="model file (model.safetensors from a run)")
    p.add_argument("inputs", nargs="+", help="image files, globs or folders")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--recursive", action="store_true", help="include images in subfolders")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--style", help="style name (default: the model's first style)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument(
        "--truncation",
        type=float,
        default=1.0,
        metavar="PSI",
        help="pull the style code toward the style's mean: 1 keeps it, 0 gives the mean",
    )
    p.add_argument(
        "--noise-scale", type=float, default=1.0, help="scale of the noise vector z (default 1)"
    )
    p.add_argument(
        "--variants",
        type=int,
        default=1,
        metavar="K",
        help="write a grid of K noise draws (seeds SEED..SEED+K-1) per image",
    )
    p.add_argument("--mix", metavar="A=W,B=W", help="blend style codes, e.g. ukiyoe=0.3,comic=0.7")
    p.add_argument("--ref", metavar="IMAGE", help="take the style code from a reference image")
    p.add_argument("--batch-size", type=int, default=4, help="images per batch (default 4)")
    add_device_option(p, "the model runs there (an .onnx model: onnxruntime, on the CPU)")
    fast = p.add_argument_group("speed, large images and video")
    fast.add_argument(
        "--tile",
        type=int,
        default=0,
        metavar="PX",
        help="stylize images larger than PX in overlapping PX tiles: memory bounded by the tile",
    )
    fast.add_argument(
        "--tile-overlap", type=int, metavar="PX", help="tile overlap (default: a quarter tile)"
    )
    fast.add_argument(
        "--tile-stats",
        choices=["exact", "fast"],
        default="exact",
        help="tiles normalise with the whole image's statistics: exact (default; one pass per "
        "norm layer, as the untiled result) or fast (one pass, close)",
    )
    fast.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="fp32",
        help="fp32 (default), bf16 autocast, or auto (bf16 where the CPU runs it natively)",
    )
    fast.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
    fast.add_argument(
        "--channels-last", action="store_true", help="channels-last memory layout (PyTorch)"
    )
    fast.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the generator (slow first call; pays off over many frames)",
    )
    fast.add_argument(
        "--stabilize",
        action="store_true",
        help="videos: blend each frame with the motion-compensated previous output (less flicker)",
    )
    fast.add_argument(
        "--crf",
        type=int,
        metavar="N",
        help="videos: quality, lower is better (default 18; libx264/libx265 0-51, VP9 0-63)",
    )
    fast.add_argument(
        "--codec",
        metavar="NAME",
        help="videos: encoder, e.g. libx264, libx265, libvpx-vp9 (default: by the suffix)",
    )
    p.set_defaults(func=cmd_stylize)


def add_export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (dynamic batch, height and width)",
        description="Write the generator as ONNX for onnxruntime and other runtimes. The style "
        "code is an input `code` (codes for seeds 0..SEEDS-1 of every style are stored in the "
        "file's metadata), or with --bake a constant chosen by the style options.",
    )
    p.add_argument("model", help="model file (model.safetensors from a run)")
    p.add_argument("-o", "--out", required=True, metavar="FILE.onnx", help="output file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--bake", action="store_true", help="bake the style code in: image-only input")
    p.add_argument("--seeds", type=int, default=8, help="noise seeds stored for stylize (def. 8)")
    p.add_argument("--style", help="style name to bake (default: the model's first style)")
    p.add_argument("--seed", type=int, default=0, help="noise seed to bake (default 0)")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="as in stylize")
    p.add_argument("--noise-scale", type=float, default=1.0, help="as in stylize (default 1)")
    p.add_argument("--mix", metavar="A=W,B=W", help="bake a blend of style codes")
    p.add_argument("--ref", metavar="IMAGE", help="bake the style code of a reference image")
    add_device_option(
        p,
        "the model is loaded and the style codes (--ref, --bake, the seed table) computed there; "
        "the graph is traced on the CPU (an ONNX file is the same wherever it was traced)",
    )
    p.set_defaults(func=cmd_export)


def cmd_stylize(args: argparse.Namespace) -> int:
    from styleforge.device import set_threads
    from styleforge.extras import need
    from styleforge.inference.files import RunReport, check_overwrites, grid, plan_jobs, run_jobs
    from styleforge.inference.stylizer import open_stylizer
    from styleforge.inference.video import is_video, run_video_jobs
    from styleforge.inference.video_encoding import check_encoding, video_encoding

    if args.batch_size < 1 or args.variants < 1:
        raise StyleforgeError("--batch-size and --variants must be at least 1")
    threads = set_threads(args.threads)
    stylizer = open_stylizer(
        args.model,
        device=args.device,
        precision=args.precision,
        channels_last=args.channels_last,
        compile=args.compile,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tile_exact=args.tile_stats == "exact",
        threads=threads,
    )
    options = code_options(args)
    code = stylizer.style_code(args.style, args.seed, **options)  # bad style: fail before work
    jobs = plan_jobs(args.inputs, Path(args.out), args.recursive)
    check_overwrites(jobs, args.overwrite)
    videos = [job for job in jobs if is_video(job.source)]
    jobs = [job for job in jobs if not is_video(job.source)]
    if videos and args.variants > 1:
        raise StyleforgeError("--variants is for images; give videos one style code")
    encoding = None
    if videos:
        need("av")  # the [video] extra: say so before any work
        encoding = video_encoding(args.codec, args.crf)
        check_encoding(encoding, {job.target.suffix.lower() for job in videos})

    def render_frames(frames):
        return stylizer.stylize_frames(frames, code)

    def render(images):
        if args.variants == 1:
            return stylizer.stylize_pil(images, code, args.batch_size)
        return [
            grid(stylizer.variants(img, args.variants, args.style, args.seed, **options))
            for img in images
        ]

    report = run_jobs(jobs, render, args.batch_size) if jobs else RunReport()
    results = run_video_jobs(
        videos, render_frames, args.stabilize, report, args.batch_size, encoding
    )
    for job, result in results:
        info = result.info
        print(
            f"{job.target}: {info.frames} frames, {float(info.fps):.3g} fps, "
            f"{info.width}x{info.height}; frame-to-frame change {result.change_ratio:.2f}x "
            "the input's"
        )
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(f"{len(report.done)} stylized, {len(report.failed)} failed -> {args.out}")
    return 1 if report.failed else 0


def code_options(args: argparse.Namespace) -> dict[str, Any]:
    """`style_code` options from --truncation, --noise-scale, --mix and --ref."""
    from styleforge.data.images import load_rgb
    from styleforge.errors import ImageLoadError

    try:
        reference = load_rgb(args.ref) if args.ref else None
    except ImageLoadError as exc:
        raise StyleforgeError(f"--ref {exc}") from None
    return dict(
        truncation=args.truncation,
        noise_scale=args.noise_scale,
        mix=parse_mix(args.mix) if args.mix else None,
        reference=reference,
    )


def parse_mix(text: str) -> dict[str, float]:
    """`a=0.3,b=0.7` -> {"a": 0.3, "b": 0.7}, with a one-line error for anything else."""
    weights = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise StyleforgeError(f"--mix expects NAME=WEIGHT,NAME=WEIGHT; got {text!r}")
    return weights


def cmd_export(args: argparse.Namespace) -> int:
    from styleforge.inference.export import export_onnx
    from styleforge.inference.stylizer import Stylizer

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise StyleforgeError(f"the output must end in .onnx, got {out}")
    if out.exists() and not args.overwrite:
        raise StyleforgeError(f"{out} already exists; pass --overwrite to replace")
    stylizer = Stylizer.load(args.model, device=args.device)
    options = code_options(args)
    baked = stylizer.style_code(args.style, args.seed, **options) if args.bake else None
    export_onnx(stylizer, out, baked, args.seeds, args.noise_scale)
    how = "style code baked in" if args.bake else f"style code input, seeds 0..{args.seeds - 1}"
    print(f"exported {args.model} -> {out} ({how}; dynamic batch, height, width)")
    return 0
