"""One model, two styles, noise: does each style land, and do styles and seeds differ?

    .venv/bin/python benchmarks/two_styles.py --out runs/two_styles --minutes 10 \
        --styles cartoon,pencil

Builds the quality benchmark's tasks for two procedural styles (the same content photos, one
style folder each), trains one default-recipe model on a style root holding both for
--minutes, then on the held-out test photos reports, per style: the probe share of its own
task's probe (and of the other style's probe), the mean absolute difference between the two
styles' outputs (levels of 255), between two noise seeds of one style (and the EfficientNet-
Lite0 feature distance between the variants), whether the same seed repeats exactly, and the
probe share of outputs styled from a reference image (`--ref`) of each style. Results are
written to two_styles.json in --out.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from styleforge.bench.quality_data import build_tasks
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.evaluation.style_task import TaskScorer, crop_features
from styleforge.inference.stylizer import Stylizer
from styleforge.models.pretrained import EfficientNetLite0

DATA_OPTIONS = ["--load-size", "256", "--crop-size", "128"]


def mean_abs(a: dict, b: dict) -> float:
    """Mean absolute difference in levels of 255 between two same-keyed sets of images."""
    return float(
        np.mean([np.abs(np.asarray(a[n], float) - np.asarray(b[n], float)).mean() for n in a])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--styles", default="cartoon,pencil")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--options", default="", help="more train options, in quotes")
    parser.add_argument(
        "--debian-cache", type=Path, default=Path.home() / ".cache/styleforge/debian"
    )
    parser.add_argument("--no-debian", action="store_true")
    args = parser.parse_args()
    names = args.styles.split(",")
    if len(names) != 2:
        parser.error("--styles takes two procedural styles")
    debian = None if args.no_debian else args.debian_cache
    tasks = build_tasks(args.out / "data", names, debian, painting=False)
    root = args.out / "data" / "both"
    for task in tasks:
        shutil.copytree(task.style, root / task.name)
    run = args.out / "run"
    cmd = [
        sys.executable, "-m", "styleforge", "train", "--content", str(tasks[0].content),
        "--style", str(root), "--out", str(run), "--overwrite", "--time-budget",
        str(args.minutes), "--steps", "1000000", "--threads", str(args.threads), *DATA_OPTIONS,
        *shlex.split(args.options),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)

    net = EfficientNetLite0("cpu")
    stylizer = Stylizer.load(run / "model.safetensors")
    scorers = {t.name: TaskScorer(t, net) for t in tasks}
    inputs = scorers[names[0]].inputs
    outputs = {s: {n: stylizer(img, style=s, seed=0) for n, img in inputs.items()} for s in names}
    result: dict[str, object] = {"styles": names, "minutes": args.minutes, "options": args.options}
    for style in names:
        other = names[1 - names.index(style)]
        feats = crop_features(net, list(outputs[style].values()))
        seed1 = {n: stylizer(img, style=style, seed=1) for n, img in inputs.items()}
        again = {n: stylizer(img, style=style, seed=0) for n, img in inputs.items()}
        ref_image = load_rgb(next(iter(iter_image_files(root / style))))
        by_ref = {n: stylizer(img, style=style, reference=ref_image) for n, img in inputs.items()}
        variants = crop_features(net, list(seed1.values()))
        result[style] = {
            "own probe share": scorers[style].probe.share(feats),
            "other style's probe share": scorers[other].probe.share(feats),
            "probe accuracy": scorers[style].probe_accuracy,
            "seed 0 vs seed 1, levels": mean_abs(outputs[style], seed1),
            "seed 0 vs seed 1, ENL0 feature distance": float(
                np.linalg.norm(feats - variants, axis=1).mean()
            ),
            "same seed repeats exactly": mean_abs(outputs[style], again) == 0.0,
            "reference image probe share": scorers[style].probe.share(
                crop_features(net, list(by_ref.values()))
            ),
            "content": scorers[style].score(outputs[style]).content_ssim,
        }
    result["styles differ, levels"] = mean_abs(outputs[names[0]], outputs[names[1]])
    (args.out / "two_styles.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
