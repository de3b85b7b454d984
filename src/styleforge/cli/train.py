"""`styleforge train`: its options (mapped onto the training config) and the command."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from styleforge.config import CONTENT_LOSSES, DISC_INPUTS, GAN_LOSSES, NORMS
from styleforge.errors import StyleforgeError

log = logging.getLogger("styleforge")


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
    "local_affine": ("model", "local_affine"),
    "detail_radius": ("model", "detail_radius"),
    "stats_transfer": ("model", "stats_transfer"),
    "disc_features": ("model", "disc_features"),
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
    "lambda_feat": ("optim", "lambda_feat"),
    "r1_gamma": ("optim", "r1_gamma"),
    "lambda_sty": ("optim", "lambda_sty"),
    "lambda_ds": ("optim", "lambda_ds"),
    "ref_every": ("optim", "ref_every"),
    "diffaug": ("optim", "diffaug"),
    "diffaug_policy": ("optim", "diffaug_policy"),
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


def add_train(sub: Any) -> None:
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
        help="spectral normalisation in the discriminator instead of instance norm (default off)",
    )
    net.add_argument(
        "--disc-input",
        choices=DISC_INPUTS,
        help="what the discriminator judges: split (default): sharp luminance plus blurred "
        "chroma (palettes count, colour fringes do not); rgb: the whole image; luma: texture, "
        "edges and shading but not palette (for styles that keep colours)",
    )
    net.add_argument(
        "--disc-features",
        action=argparse.BooleanOptionalAction,
        help="the discriminator also judges frozen EfficientNet-Lite0 feature maps (strides 4, "
        "8 and 16) with small heads, as Projected GANs do: the style shows within minutes "
        "(default on)",
    )
    net.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        help="generator adds a learned change to its input, starting as the identity map",
    )
    net.add_argument(
        "--stats-transfer",
        action=argparse.BooleanOptionalAction,
        help="start each style from curves fitted on the folders before training: a texture "
        "gain by local texture energy and chroma curves matching the style images' pooled "
        "statistics (default: on; docs/research-log.md)",
    )
    net.add_argument(
        "--local-affine",
        type=int,
        metavar="PIXELS",
        help="generator also learns an affine colour transform for each PIXELS-square region, "
        "blended smoothly between regions: tone and contrast per region, edges kept (needs "
        "--skip; default 0: off)",
    )
    net.add_argument(
        "--detail-radius",
        type=int,
        metavar="PIXELS",
        help="generator also learns a texture gain per region: what an edge-preserving filter "
        "of this radius removes from the input is kept, flattened or sharpened, outlines stay "
        "(on the --local-affine grid, 16-pixel regions without it; default 4; 0: off; off "
        "with --no-skip)",
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
        help="a content term beside the structure term (--lambda-feat): none (default), nce "
        "(PatchNCE: about 2x the step time), cycle (CycleGAN), identity (L1 to input)",
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
        "--lambda-feat",
        type=float,
        help="weight of the structure term: channel-normalised EfficientNet-Lite0 features of "
        "output vs input (strides 4 and 8); keeps shapes, edges and layout, leaves colour, "
        "line and texture free (default 1; 0 leaves content to --content-loss)",
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
    loss.add_argument(
        "--diffaug-policy",
        metavar="PARTS",
        help="what DiffAugment does, a comma list of color, translation, cutout"
        " (default: all three)",
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


def cmd_train(args: argparse.Namespace) -> int:
    from styleforge.config import TrainConfig, apply_preset
    from styleforge.run_folder import MODEL_NAME, STATE_NAME
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
