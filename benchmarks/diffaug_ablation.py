"""With and without DiffAugment on a 20-image style set, same step budget, demo-task metrics.

    .venv/bin/python benchmarks/diffaug_ablation.py --steps 600 --out runs/diffaug

The style set is 20 crops (192x192) of the demo's cartoon style images; content and held-out
test photos are the demo's. Prints SSIM/PSNR against the ground truth with the identity
baseline, and writes the table to OUT/diffaug.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.data.demo import build_demo_data
from styleforge.demo_job import DEMO_STEPS, demo_config
from styleforge.evaluation.paired import score_paired
from styleforge.inference.stylizer import Stylizer
from styleforge.training.trainer import Trainer

CROP = 192


def twenty_crops(style_dir: Path, out_dir: Path, count: int = 20, seed: int = 0) -> Path:
    """`count` random CROP x CROP crops spread evenly over the style images."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(style_dir.iterdir())
    for i in range(count):
        img = Image.open(sources[i % len(sources)])
        left = int(rng.integers(0, img.width - CROP + 1))
        top = int(rng.integers(0, img.height - CROP + 1))
        img.crop((left, top, left + CROP, top + CROP)).save(out_dir / f"crop_{i:02d}.png")
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEMO_STEPS, help="steps per run")
    parser.add_argument("--minutes", type=float, default=12.0, help="time cap per run")
    parser.add_argument("--out", type=Path, default=Path("runs/diffaug"), help="work folder")
    parser.add_argument(
        "--modes", default="off,on", help="DiffAugment settings to run (default off,on)"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    data = build_demo_data(args.out / "data")
    style20 = twenty_crops(data.style, args.out / "data" / "style20")
    rows = {}
    for mode in args.modes.split(","):
        config = demo_config(args.out / "data", args.steps, args.minutes, "lite", seed=0)
        config.data.style = str(style20)
        config.optim.diffaug = mode
        config.threads = args.threads
        run = args.out / f"diffaug_{mode}"
        trained = Trainer(config, run).run()
        scores = score_paired(
            Stylizer.load(trained.model_path), data.test, data.truth, run / "test"
        )
        rows[mode] = {
            "steps": trained.steps,
            "ssim": scores.mean.ssim,
            "psnr": scores.mean.psnr,
            "identity_ssim": scores.identity_mean.ssim,
            "identity_psnr": scores.identity_mean.psnr,
        }
        print(
            f"diffaug {mode:3s}: {trained.steps} steps  SSIM {scores.mean.ssim:.4f}  "
            f"PSNR {scores.mean.psnr:.2f}  (identity SSIM {scores.identity_mean.ssim:.4f}  "
            f"PSNR {scores.identity_mean.psnr:.2f})"
        )
    (args.out / "diffaug.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
