"""The `styleforge` command: parse options, call the library, print results. No logic here.

Errors a user can cause print one line, `error: ...`; exit 2 for usage errors, 1 for failures.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from styleforge import __version__
from styleforge.config import COLOR_ANCHORS, CONTENT_LOSSES, DISC_INPUTS, GAN_LOSSES, NORMS
from styleforge.errors import StyleforgeError

log = logging.getLogger("styleforge")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


# option dest -> (config section or None for the top level, field name)
TRAIN_FIELDS: dict[str, tuple[str | None, str]] = {
    "content": ("data", "content"),
    "style": ("data", "style"),
    "data": ("data", "data"),
    "load_size": ("data", "load_size"),
    "crop_size": ("data", "crop_size"),
    "flip": ("data", "flip"),
    "rotate": ("data", "rotate"),
    "color_jitter": ("data", "color_jitter"),
    "balance": ("data", "balance"),
    "ngf": ("model", "ngf"),
    "n_down": ("model", "n_down"),
    "n_blocks": ("model", "n_blocks"),
    "ndf": ("model", "ndf"),
    "d_layers": ("model", "d_layers"),
    "norm": ("model", "norm"),
    "dropout": ("model", "dropout"),
    "spectral_norm": ("model", "spectral_norm"),
    "disc_input": ("model", "disc_input"),
    "skip": ("model", "skip"),
    "latent_dim": ("model", "latent_dim"),
    "style_dim": ("model", "style_dim"),
    "gan_loss": ("optim", "gan_loss"),
    "content_loss": ("optim", "content_loss"),
    "lambda_gan": ("optim", "lambda_gan"),
    "lambda_nce": ("optim", "lambda_nce"),
    "nce_idt": ("optim", "nce_idt"),
    "lambda_cycle": ("optim", "lambda_cycle"),
    "lambda_identity": ("optim", "lambda_identity"),
    "lambda_pixel": ("optim", "lambda_pixel"),
    "lambda_color": ("optim", "lambda_color"),
    "lambda_feat": ("optim", "lambda_feat"),
    "lambda_stats": ("optim", "lambda_stats"),
    "lambda_patch": ("optim", "lambda_patch"),
    "color_pool": ("optim", "color_pool"),
    "luma_pool": ("optim", "luma_pool"),
    "color_anchor": ("optim", "color_anchor"),
    "r1_gamma": ("optim", "r1_gamma"),
    "lambda_sty": ("optim", "lambda_sty"),
    "lambda_ds": ("optim", "lambda_ds"),
    "ref_every": ("optim", "ref_every"),
    "diffaug": ("optim", "diffaug"),
    "lr": ("optim", "lr"),
    "lr_d": ("optim", "lr_d"),
    "beta1": ("optim", "beta1"),
    "beta2": ("optim", "beta2"),
    "decay_start": ("optim", "decay_start"),
    "ema_beta": ("optim", "ema_beta"),
    "steps": (None, "steps"),
    "time_budget": (None, "time_budget"),
    "batch_size": (None, "batch_size"),
    "seed": (None, "seed"),
    "device": (None, "device"),
    "precision": (None, "precision"),
    "compile": (None, "compile"),
    "threads": (None, "threads"),
    "log_every": (None, "log_every"),
    "sample_every": (None, "sample_every"),
    "save_every": (None, "save_every"),
    "max_bad_steps": (None, "max_bad_steps"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="styleforge",
        description="Learn the style of an image collection with a GAN and carry it onto photos.",
    )
    parser.add_argument("--version", action="version", version=f"styleforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="show warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    _add_stylize(sub)
    _add_demo(sub)
    _add_data(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_bench(sub)
    _add_serve(sub)
    return parser


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a style model on a folder of content photos and a folder of style images",
        description="Train a generator and discriminator; the EMA generator is saved as "
        "OUT/model.safetensors. Options left out take the preset's or the config file's values.",
    )
    src = p.add_argument_group("data")
    src.add_argument("--content", metavar="DIR", help="folder of content photos")
    src.add_argument(
        "--style", metavar="DIR", help="folder of style images (subfolders: one style each)"
    )
    src.add_argument("--data", metavar="DIR", help="CycleGAN-layout root: trainA/ trainB/ (testA/)")
    src.add_argument("--load-size", type=int, help="resize the shorter side to this (default 143)")
    src.add_argument("--crop-size", type=int, help="random crop side for training (default 128)")
    src.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        help="random horizontal flips (default on)",
    )
    src.add_argument(
        "--rotate", type=float, metavar="DEG", help="random rotation up to DEG degrees"
    )
    src.add_argument(
        "--color-jitter",
        type=float,
        metavar="S",
        help="random brightness/contrast/saturation up to +-S (e.g. 0.1)",
    )
    src.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        help="draw styles evenly whatever their image counts (default on; off: proportional)",
    )

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
    run.add_argument("--steps", type=int, help="training steps (default 2000)")
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="MIN",
        help="stop after this many minutes of training (with --steps: whichever first)",
    )
    run.add_argument("--batch-size", type=int, help="images per step (default 4)")
    run.add_argument("--seed", type=int, help="random seed; the same seed gives the same model")
    run.add_argument(
        "--device", help="auto (default: CUDA when present), cpu or cuda; torchrun: see docs"
    )
    run.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        help="auto (default): bf16 autocast on CUDA, fp32 on the CPU",
    )
    run.add_argument(
        "--compile",
        action="store_const",
        const=True,
        help="torch.compile the networks (for CUDA; minutes to build, then faster steps)",
    )
    run.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    run.add_argument("--log-every", type=int, help="steps between metric log lines (default 10)")
    run.add_argument("--sample-every", type=int, help="steps between sample grids (default 200)")
    run.add_argument("--save-every", type=int, help="steps between checkpoints (default 500)")
    run.add_argument(
        "--max-bad-steps",
        type=int,
        metavar="N",
        help="skip steps with a NaN/inf loss or gradient; after N in a row, roll back to the "
        "last checkpoint with half the learning rate (default 5)",
    )

    net = p.add_argument_group("networks")
    net.add_argument(
        "--preset",
        choices=["lite", "base", "resnet9"],
        help="network size: lite (fast on CPU, default), base, resnet9 (CycleGAN's)",
    )
    net.add_argument("--ngf", type=int, help="generator base channels (overrides the preset)")
    net.add_argument(
        "--n-down", type=int, help="generator downsampling steps (overrides the preset)"
    )
    net.add_argument(
        "--n-blocks", type=int, help="generator residual blocks (overrides the preset)"
    )
    net.add_argument("--ndf", type=int, help="discriminator base channels (overrides the preset)")
    net.add_argument(
        "--d-layers", type=int, help="discriminator stride-2 layers (3: 70x70 patches)"
    )
    net.add_argument(
        "--norm",
        choices=NORMS,
        help="normalisation layers (default instance)",
    )
    net.add_argument(
        "--dropout", type=float, metavar="P", help="dropout in residual blocks (default 0)"
    )
    net.add_argument(
        "--spectral-norm",
        action=argparse.BooleanOptionalAction,
        help="spectral normalisation in the discriminator (default off)",
    )
    net.add_argument(
        "--disc-input",
        choices=DISC_INPUTS,
        help="what the discriminator judges: rgb (default); luma: texture, edges and "
        "shading but not palette (for styles that keep colours; pair with --lambda-color); "
        "split: sharp luminance plus blurred chroma (palettes count, colour fringes do not)",
    )
    net.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        help="generator adds a learned change to its input, starting as the identity map",
    )
    net.add_argument("--latent-dim", type=int, help="size of the noise vector z (default 16)")
    net.add_argument("--style-dim", type=int, help="size of the style code (default 64)")

    loss = p.add_argument_group("losses and optimiser")
    loss.add_argument(
        "--gan-loss",
        choices=GAN_LOSSES,
        help="GAN objective (default bce: non-saturating cross-entropy)",
    )
    loss.add_argument(
        "--content-loss",
        choices=CONTENT_LOSSES,
        help="content term: nce (PatchNCE, default), cycle (CycleGAN), identity (L1 to input)",
    )
    loss.add_argument("--lambda-gan", type=float, help="weight of the GAN loss (default 1)")
    loss.add_argument("--lambda-nce", type=float, help="weight of PatchNCE (default 1)")
    loss.add_argument(
        "--nce-idt",
        action=argparse.BooleanOptionalAction,
        help="PatchNCE's identity term on style images (default on; off is faster)",
    )
    loss.add_argument("--lambda-cycle", type=float, help="weight of the cycle loss (default 10)")
    loss.add_argument(
        "--lambda-identity",
        type=float,
        help="CycleGAN identity weight, times --lambda-cycle (default 0.5)",
    )
    loss.add_argument("--lambda-pixel", type=float, help="weight of L1(output, input) (default 1)")
    loss.add_argument(
        "--lambda-color",
        type=float,
        help="weight of L1 between block averages of output and input: keeps colours (default 0)",
    )
    loss.add_argument(
        "--color-pool",
        type=int,
        metavar="PIXELS",
        help="block side of the colour term; larger leaves edges and ink free (default 8)",
    )
    loss.add_argument(
        "--luma-pool",
        type=int,
        metavar="PIXELS",
        help="anchor luminance on blocks this size and only chroma on --color-pool blocks "
        "(default 0: RGB on --color-pool blocks)",
    )
    loss.add_argument(
        "--color-anchor",
        choices=COLOR_ANCHORS,
        help="relative (default): take each image's mean out first, so a global colour or "
        "brightness change is free; absolute: keep each block's colour",
    )
    loss.add_argument(
        "--lambda-feat",
        type=float,
        help="weight of L1 between EfficientNet-Lite0 features of output and input: keeps "
        "what things are, frees colour and texture (default 0)",
    )
    loss.add_argument(
        "--lambda-stats",
        type=float,
        help="weight of matching channel means and spreads of EfficientNet-Lite0 features of "
        "outputs to those of the style images: texture and palette from the first step",
    )
    loss.add_argument(
        "--lambda-patch",
        type=float,
        help="weight of the sliced Wasserstein distance between small patches (5 px at three "
        "scales) of the outputs and of the style images: a direct pull towards the style's "
        "local look",
    )
    loss.add_argument(
        "--r1-gamma", type=float, help="R1 penalty weight on real images (default 0: off)"
    )
    loss.add_argument(
        "--lambda-sty",
        type=float,
        help="style reconstruction weight: the encoder recovers the code (default 1; 0: off)",
    )
    loss.add_argument(
        "--lambda-ds",
        type=float,
        help="diversity weight, decaying to 0 over training (default 1; 0: off)",
    )
    loss.add_argument(
        "--ref-every",
        type=int,
        metavar="N",
        help="every N-th step takes style codes from reference images (default 2; 0: never)",
    )
    loss.add_argument(
        "--diffaug",
        choices=["auto", "on", "off"],
        help="differentiable augmentation of what D sees; auto: on below 500 images per style",
    )
    loss.add_argument("--lr", type=float, help="Adam learning rate (default 2e-4)")
    loss.add_argument("--lr-d", type=float, help="discriminator learning rate (default: --lr)")
    loss.add_argument("--beta1", type=float, help="Adam beta1 (default 0.5)")
    loss.add_argument("--beta2", type=float, help="Adam beta2 (default 0.999)")
    loss.add_argument(
        "--decay-start",
        type=float,
        metavar="FRAC",
        help="decay the lr linearly to 0 after this fraction of training (default 1: never)",
    )
    loss.add_argument(
        "--ema-beta", type=float, help="EMA decay of the shipped weights (default 0.999)"
    )
    p.set_defaults(func=cmd_train)


def _add_stylize(sub: Any) -> None:
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
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
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
    p.set_defaults(func=cmd_stylize)


def _add_export(sub: Any) -> None:
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
    p.set_defaults(func=cmd_export)


def _add_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="measure stylizing (or training) speed and memory on this machine",
        description="Latency, images/s, MACs, parameters and peak RSS per preset x size x "
        "backend, with the ratio to the CycleGAN ResNet-9 generator (fp32) timed in the same run.",
    )
    p.add_argument("--train", action="store_true", help="training steps/s instead of inference")
    p.add_argument(
        "--quality",
        action="store_true",
        help="train each --recipe on each style task for --minutes, score against ground truth "
        "(docs/quality.md)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--presets", default="lite,base,resnet9", help="comma-separated presets")
    p.add_argument("--sizes", default="256,512,1024", help="comma-separated image sides")
    p.add_argument(
        "--backends",
        default="fp32,bf16,onnx",
        help="comma-separated: fp32, bf16, onnx, compile (torch.compile fp32; slow to build)",
    )
    p.add_argument("--content-losses", default="nce,cycle", help="--train: content losses")
    p.add_argument("--crop-size", type=int, default=128, help="--train: crop side (default 128)")
    p.add_argument("--batch-size", type=int, default=4, help="--train: batch size (default 4)")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per case (at most)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=10.0,
        help="stop repeating a case after this long, once 3 runs are in (default 10)",
    )
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
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
        "--debian-cache",
        default=str(Path.home() / ".cache" / "styleforge" / "debian"),
        help="where Debian packages' images are unpacked (default ~/.cache/styleforge/debian)",
    )
    q.add_argument(
        "--no-debian",
        action="store_true",
        help="pip-packaged photos only: no Tux Paint photos, no painting task (works offline)",
    )
    p.set_defaults(func=cmd_bench)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="build the demo task from packaged photos, train, stylize and score it",
        description="Photo -> procedural cartoon: trains the lite preset, then prints SSIM/PSNR "
        "of held-out photos against their ground truth beside the identity baseline.",
    )
    p.add_argument("--out", default="runs/demo", help="demo folder (default runs/demo)")
    p.add_argument("--steps", type=int, help="training steps (default 600)")
    p.add_argument(
        "--minutes", type=float, help="stop training after this many minutes at most (default 12)"
    )
    p.add_argument(
        "--preset",
        choices=["lite", "base", "resnet9"],
        default="lite",
        help="network size (default lite)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo in --out")
    p.set_defaults(func=cmd_demo)


def _add_data(sub: Any) -> None:
    p = sub.add_parser("data", help="inspect data sets")
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", parser_class=_Parser)
    data_sub.required = True
    check = data_sub.add_parser(
        "check",
        help="count usable images per style and name the unusable ones",
        description="Open every image under each folder and report counts and problems.",
    )
    check.add_argument("folders", nargs="+", help="folders to check (subfolders: one style each)")
    check.set_defaults(func=cmd_data_check)


def _add_evaluate(sub: Any) -> None:
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
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation")
    p.set_defaults(func=cmd_evaluate)


def _add_serve(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="web page and HTTP API for stylizing photos with trained models",
        description="Serve every model.safetensors under --models: a page at / and an API "
        "(POST /api/stylize, GET /api/models, GET /healthz, docs at /docs). See docs/server.md.",
    )
    p.add_argument("--models", required=True, metavar="DIR", help="folder searched for models")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
    p.add_argument("--workers", type=int, default=1, help="images stylized at once (default 1)")
    p.add_argument(
        "--queue", type=int, default=16, help="requests waiting beyond those; then 503 (default 16)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    p.add_argument(
        "--max-upload-mb", type=float, default=25.0, help="largest request body (default 25)"
    )
    p.add_argument(
        "--max-pixels", type=int, default=25_000_000, help="largest image (default 25,000,000)"
    )
    p.add_argument("--max-variants", type=int, default=8, help="variants per request (default 8)")
    p.add_argument("--cache", type=int, default=2, help="models kept loaded (default 2)")
    p.add_argument(
        "--tile", type=int, default=1024, help="tile side for large images; 0: off (default 1024)"
    )
    p.set_defaults(func=cmd_serve)


# ---------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from styleforge.config import TrainConfig, apply_preset
    from styleforge.training.checkpoint import MODEL_NAME, STATE_NAME
    from styleforge.training.distributed import is_main_process
    from styleforge.training.trainer import Trainer, resume_trainer

    if args.resume:
        trainer = resume_trainer(
            Path(args.resume), args.steps, args.time_budget, args.batch_size, args.device
        )
        log.info("resuming %s at step %d", args.resume, trainer.step)
    else:
        if not args.out:
            raise StyleforgeError("give --out DIR (or --resume DIR)")
        out = Path(args.out)
        if not args.overwrite and ((out / STATE_NAME).exists() or (out / MODEL_NAME).exists()):
            raise StyleforgeError(
                f"{out} already holds a run; use --resume {out} to continue or --overwrite"
            )
        config = TrainConfig.load_yaml(Path(args.config)) if args.config else TrainConfig()
        if args.preset:
            apply_preset(config.model, args.preset)
        if args.time_budget is not None and args.steps is None:
            config.steps = None
        for dest, (section, name) in TRAIN_FIELDS.items():
            value = getattr(args, dest)
            if value is not None:
                setattr(getattr(config, section) if section else config, name, value)
        config.validate()
        if is_main_process():  # under torchrun, rank 0 alone writes files
            out.mkdir(parents=True, exist_ok=True)
            config.save_yaml(out / "config.yaml")
        trainer = Trainer(config, out)
    result = trainer.run()
    state = "interrupted; checkpoint saved" if result.interrupted else "done"
    took = f"{result.steps} steps in {result.seconds / 60:.1f} min"
    if trainer.world.is_main:
        print(f"{state}: {took} -> {result.model_path}")
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image as PILImage

    from styleforge.device import set_threads
    from styleforge.inference.files import RunReport, check_overwrites, grid, plan_jobs, run_jobs
    from styleforge.inference.stylizer import open_stylizer
    from styleforge.inference.video import is_video, run_video_jobs

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

    def render_frame(rgb):
        return np.asarray(stylizer.stylize_pil([PILImage.fromarray(rgb)], code)[0])

    def render(images):
        if args.variants == 1:
            return stylizer.stylize_pil(images, code, args.batch_size)
        return [
            grid(stylizer.variants(img, args.variants, args.style, args.seed, **options))
            for img in images
        ]

    report = run_jobs(jobs, render, args.batch_size) if jobs else RunReport()
    for job, result in run_video_jobs(videos, render_frame, args.stabilize, report):
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


def cmd_export(args: argparse.Namespace) -> int:
    from styleforge.inference.export import export_onnx
    from styleforge.inference.stylizer import Stylizer

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise StyleforgeError(f"the output must end in .onnx, got {out}")
    if out.exists() and not args.overwrite:
        raise StyleforgeError(f"{out} already exists; pass --overwrite to replace")
    stylizer = Stylizer.load(args.model, device="cpu")
    options = code_options(args)
    baked = stylizer.style_code(args.style, args.seed, **options) if args.bake else None
    export_onnx(stylizer, out, baked, args.seeds, args.noise_scale)
    how = "style code baked in" if args.bake else f"style code input, seeds 0..{args.seeds - 1}"
    print(f"exported {args.model} -> {out} ({how}; dynamic batch, height, width)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from styleforge.bench import report
    from styleforge.device import set_threads

    threads = set_threads(args.threads)
    if args.quality:  # training runs in child processes, each given its own --threads
        return _quality_bench(args)
    presets = _csv(args.presets, str)
    common = dict(repeats=args.repeats, max_seconds=args.max_seconds, threads=threads)
    if args.repeats < 1 or args.max_seconds < 0:
        raise StyleforgeError("--repeats must be at least 1 and --max-seconds >= 0")
    for preset in presets:
        if preset not in ("lite", "base", "resnet9"):
            raise StyleforgeError(f"unknown preset {preset!r}; choose from lite, base, resnet9")
    if args.train:
        from styleforge.bench.training import run_train_bench

        losses = _csv(args.content_losses, str)
        rows = run_train_bench(presets, losses, args.crop_size, args.batch_size, **common)
    else:
        from styleforge.bench.inference import run_inference_bench

        sizes = _csv(args.sizes, int)
        rows = run_inference_bench(presets, sizes, _csv(args.backends, str), **common)
    kind = "train" if args.train else "inference"
    print(report.to_json(kind, rows) if args.json else report.to_markdown(rows))
    return 0


def _quality_bench(args: argparse.Namespace) -> int:
    from styleforge.bench.quality import parse_recipes, run_quality_bench, to_markdown
    from styleforge.bench.quality_data import build_tasks
    from styleforge.data.procedural import STYLES

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise StyleforgeError(f"{out} holds an earlier run; pass --overwrite to replace it")
    if args.minutes <= 0 or args.jobs < 1:
        raise StyleforgeError("--minutes must be > 0 and --jobs at least 1")
    recipes = parse_recipes(args.recipe)
    cache = None if args.no_debian else Path(args.debian_cache)
    if args.styles:
        styles = _csv(args.styles, str)
        painting = "painting" in styles
    else:
        styles, painting = list(STYLES), cache is not None
    styles = [s for s in styles if s != "painting"]
    tasks = build_tasks(out / "data", styles, cache, painting=painting)
    rows = run_quality_bench(
        tasks, recipes, out, args.minutes, jobs=args.jobs, threads=args.threads, seed=args.seed
    )
    print(to_markdown(rows))
    print(f"outputs, grids and quality.json in {out}")
    return 0


def _csv(text: str, kind: type) -> list:
    try:
        values = [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise StyleforgeError(f"expected a comma-separated list, got {text!r}") from None
    if not values or (kind is int and min(values) < 1):
        raise StyleforgeError(f"expected a comma-separated list of positive values, got {text!r}")
    return values


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


def cmd_demo(args: argparse.Namespace) -> int:
    from styleforge.demo_job import DEMO_MINUTES, DEMO_STEPS, run_demo

    minutes = DEMO_MINUTES if args.minutes is None else args.minutes
    steps = DEMO_STEPS if args.steps is None else args.steps
    if minutes <= 0 or steps <= 0:
        raise StyleforgeError("--minutes and --steps must be positive")
    result = run_demo(Path(args.out), minutes, steps, args.preset, args.seed, args.overwrite)
    s, i = result.stylized, result.identity
    print(f"model: {result.model} ({result.steps} steps, {result.train_seconds / 60:.1f} min)")
    print(f"held-out photos vs ground truth: SSIM {s.ssim:.4f}  PSNR {s.psnr:.2f} dB")
    print(f"identity baseline (input):       SSIM {i.ssim:.4f}  PSNR {i.psnr:.2f} dB")
    verdict = "beats" if s.ssim > i.ssim else "does NOT beat"
    print(f"the model {verdict} the identity baseline on SSIM; report: {result.report}")
    return 0


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


def cmd_data_check(args: argparse.Namespace) -> int:
    from styleforge.data.check import check_folders

    report = check_folders([Path(f) for f in args.folders])
    print(report.render())
    return 0 if report.usable else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from styleforge.device import set_threads
    from styleforge.server.app import serve
    from styleforge.server.limits import MB, Limits

    numbers = (args.workers, args.timeout, args.max_upload_mb, args.max_pixels, args.max_variants)
    if min(numbers) <= 0 or args.queue < 0:
        raise StyleforgeError("--workers, --timeout and the --max-* limits must be positive")
    set_threads(args.threads)
    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_pixels=args.max_pixels,
        timeout_s=args.timeout,
        workers=args.workers,
        queue=args.queue,
        max_variants=args.max_variants,
    )
    serve(Path(args.models), args.host, args.port, limits, args.device, args.cache, args.tile)
    return 0


# ---------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except StyleforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
