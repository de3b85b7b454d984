"""`styleforge bench --quality`: train each recipe on each task for a fixed time, score it.

Every training run is `styleforge train` in its own process (so its peak RSS is its own and a
crash is one failed row), with the same data options for every recipe; the recipes differ only
in the train options they add. Scores per task and recipe: SSIM/PSNR of the stylized test photos
to their ground truth beside the identity baseline (the untouched photos), FD-ENL0 of the
outputs to the style set beside the photos' own, luminance SSIM to the input (content kept),
steps done and peak RSS.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.bench.quality_data import Task
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.errors import StyleforgeError
from styleforge.evaluation.distances import frechet_distance
from styleforge.evaluation.features import EfficientNetLite0
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.unpaired import content_ssim
from styleforge.inference.files import grid, save_image
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import read_metadata
from styleforge.training.checkpoint import MODEL_FORMAT

# the recipe under test and the CycleGAN-style reference it must beat
# (CycleGAN's setup: its ResNet-9 generator, cycle loss, plain output, RGB discriminator, no
# anchors; its lr schedule, constant then linear decay over the second half, is ours too)
CYCLEGAN = (
    "--preset resnet9 --content-loss cycle --no-skip --no-stats-transfer --lambda-color 0 "
    "--disc-input rgb"
)
DEFAULT_RECIPES = {"default": "", "resnet9-cycle": CYCLEGAN}
# the same data options for every recipe: the benchmark photos' own scale, 128-pixel crops
DATA_OPTIONS = ["--load-size", "256", "--crop-size", "128"]
GRID_CELL = (224, 160)  # width, height of one image in the grids


@dataclass
class Row:
    task: str
    recipe: str
    steps: int
    minutes: float
    peak_rss_mib: float
    ssim: float | None
    psnr: float | None
    identity_ssim: float | None
    identity_psnr: float | None
    fd_enl0: float
    identity_fd_enl0: float
    content_ssim: float


@dataclass
class Trained:
    model: Path
    seconds: float
    peak_rss_mib: float


def parse_recipes(specs: list[str] | None) -> dict[str, str]:
    """`NAME=TRAIN OPTIONS` strings -> {name: options}; the two built-ins when none given."""
    if not specs:
        return dict(DEFAULT_RECIPES)
    recipes = {}
    for spec in specs:
        name, sep, options = spec.partition("=")
        if not sep or not name.strip():
            raise StyleforgeError(f"--recipe takes NAME=OPTIONS, got {spec!r}")
        recipes[name.strip()] = options.strip()
    return recipes


def train_once(
    task: Task, recipe: str, options: str, run_dir: Path, minutes: float, threads: int, seed: int
) -> Trained:
    """One `styleforge train` process with a time budget; its own peak RSS via wait4."""
    log_path = run_dir.with_suffix(".log")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "styleforge", "train",
        "--content", str(task.content), "--style", str(task.style), "--out", str(run_dir),
        "--overwrite", "--time-budget", str(minutes), "--steps", "1000000",
        "--threads", str(threads), "--seed", str(seed), *DATA_OPTIONS, *shlex.split(options),
    ]  # fmt: skip
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
        raise StyleforgeError(
            f"training {recipe} on {task.name} failed ({' '.join(tail)}); log: {log_path}"
        )
    return Trained(
        run_dir / "model.safetensors", time.perf_counter() - start, usage.ru_maxrss / 1024
    )


def five_crops(img: Image.Image) -> list[Image.Image]:
    """Four corners and the centre at 3/4 of the shorter side: more samples for FD per image."""
    side = int(min(img.size) * 0.75)
    w, h = img.size
    corners = [(0, 0), (w - side, 0), (0, h - side), (w - side, h - side)]
    corners.append(((w - side) // 2, (h - side) // 2))
    return [img.crop((x, y, x + side, y + side)) for x, y in corners]


def crop_features(net: EfficientNetLite0, images: list[Image.Image]) -> np.ndarray:
    return net.pooled([crop for img in images for crop in five_crops(img)])


class Scorer:
    """Scores one task's outputs; the style set's and inputs' features are computed once."""

    def __init__(self, task: Task, net: EfficientNetLite0):
        self.task = task
        self.net = net
        self.inputs = {p.stem: load_rgb(p) for p in iter_image_files(task.test)}
        self.truths = (
            {name: load_rgb(task.truth / f"{name}.png") for name in self.inputs}
            if task.truth
            else {}
        )
        styles = [load_rgb(p) for p in iter_image_files(task.style)]
        self.style_features = crop_features(net, styles)
        self.identity_fd = frechet_distance(
            crop_features(net, list(self.inputs.values())), self.style_features
        )
        self.identity = self.paired(self.inputs)  # the same for every recipe

    def paired(self, images: dict[str, Image.Image]) -> PairedScores | None:
        """Mean SSIM/PSNR/MSE of `images` against the truth; None for a task without one."""
        if not self.truths:
            return None
        return PairedScores.mean([PairedScores.of(images[n], self.truths[n]) for n in self.inputs])

    def stylize(self, model: Path, out_dir: Path) -> dict[str, Image.Image]:
        stylizer = Stylizer.load(model)
        outputs = {}
        for name, img in self.inputs.items():
            outputs[name] = stylizer(img)
            save_image(outputs[name], out_dir / f"{name}.png")
        return outputs

    def row(self, recipe: str, trained: Trained, outputs: dict[str, Image.Image]) -> Row:
        paired, identity = self.paired(outputs), self.identity
        fd = frechet_distance(crop_features(self.net, list(outputs.values())), self.style_features)
        kept = float(np.mean([content_ssim(self.inputs[n], outputs[n]) for n in self.inputs]))
        steps = int(read_metadata(trained.model, MODEL_FORMAT).get("step", 0))
        return Row(
            self.task.name, recipe, steps, trained.seconds / 60, trained.peak_rss_mib,
            paired.ssim if paired else None, paired.psnr if paired else None,
            identity.ssim if identity else None, identity.psnr if identity else None,
            fd, self.identity_fd, kept,
        )  # fmt: skip

    def grid(self, columns: dict[str, dict[str, Image.Image]], path: Path) -> None:
        """One row per test photo: input | truth (if any) | each recipe's output."""
        order = {"input": self.inputs, **({"truth": self.truths} if self.truths else {}), **columns}
        cells = [_fit(order[col][name]) for name in self.inputs for col in order]
        save_image(grid(cells, columns=len(order)), path)


def _fit(img: Image.Image) -> Image.Image:
    """The image scaled to fit a GRID_CELL box, centred on white."""
    box_w, box_h = GRID_CELL
    scale = min(box_w / img.width, box_h / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    cell = Image.new("RGB", GRID_CELL, "white")
    cell.paste(
        img.resize(size, Image.Resampling.LANCZOS), ((box_w - size[0]) // 2, (box_h - size[1]) // 2)
    )
    return cell


def run_quality_bench(
    tasks: list[Task],
    recipes: dict[str, str],
    out: Path,
    minutes: float,
    jobs: int = 1,
    threads: int = 0,
    seed: int = 0,
) -> list[Row]:
    """Train every recipe on every task (`jobs` at a time), then score and draw grids."""
    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    plan = [(task, name) for task in tasks for name in recipes]

    def train(item: tuple[Task, str]) -> Trained:
        task, name = item
        return train_once(task, name, recipes[name], out / "runs" / task.name / name, minutes,
                          threads, seed)  # fmt: skip

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        trained = list(pool.map(train, plan))
    net = EfficientNetLite0("cpu")
    rows = []
    for task in tasks:
        scorer = Scorer(task, net)
        columns = {}
        for (t, name), result in zip(plan, trained, strict=True):
            if t is not task:
                continue
            columns[name] = scorer.stylize(result.model, out / "outputs" / task.name / name)
            rows.append(scorer.row(name, result, columns[name]))
        scorer.grid(columns, out / "grids" / f"{task.name}.jpg")
    (out / "quality.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows


def to_markdown(rows: list[Row]) -> str:
    """The benchmark table: one line per task x recipe; '-' where a task has no ground truth."""
    head = (
        "| task | recipe | SSIM | identity SSIM | PSNR | identity PSNR | FD-ENL0 | identity FD | "
        "content SSIM | steps | minutes | peak RSS MiB |"
    )
    lines = [head, "|" + " --- |" * 12]
    for r in rows:
        cells = [
            r.task, r.recipe, _num(r.ssim, 4), _num(r.identity_ssim, 4), _num(r.psnr, 2),
            _num(r.identity_psnr, 2), _num(r.fd_enl0, 1), _num(r.identity_fd_enl0, 1),
            _num(r.content_ssim, 3), str(r.steps), f"{r.minutes:.1f}", f"{r.peak_rss_mib:.0f}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
