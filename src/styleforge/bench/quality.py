"""`styleforge bench --quality`: train each recipe on each task for a fixed time, score it.

Every training run is `styleforge train` in its own process (so its peak RSS is its own and a
crash is one failed row), with the same data options for every recipe; the recipes differ only
in the train options they add. Each task's table starts with the untouched photos (identity) and
the ground truth where there is one, then the recipes, each scored for style and for content
apart (`evaluation.style_measures`): the style probe's share, the FD-ENL0 gap closed between the
identity and the truth (the relative FD drop without a truth), SSIM to the truth and the gap it
closes, luminance SSIM to the input beside the truth's own; then steps, minutes and peak RSS.
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

from styleforge.device import pick_device
from styleforge.errors import StyleforgeError
from styleforge.evaluation.style_measures import TRUSTED_PROBE
from styleforge.evaluation.style_task import StyleScores, StyleTask, TaskScorer
from styleforge.modelfile import MODEL_FORMAT, read_metadata
from styleforge.models.pretrained import EfficientNetLite0

# the recipe under test and the CycleGAN-style reference it must beat
# (CycleGAN's setup: its ResNet-9 generator, cycle loss, plain output, RGB pixel discriminator,
# no structure term; its lr schedule, constant then linear decay over the second half, is ours
# too)
CYCLEGAN = (
    "--preset resnet9 --content-loss cycle --no-skip --no-stats-transfer "
    "--lambda-feat 0 --disc-input rgb --no-disc-features"
)
DEFAULT_RECIPES = {"default": "", "resnet9-cycle": CYCLEGAN}
# the same data options for every recipe: the benchmark photos' own scale, 128-pixel crops
DATA_OPTIONS = ["--load-size", "256", "--crop-size", "128"]
TRAINED_NAME = "trained.json"


@dataclass
class Row:
    """One line of the table: a recipe's scores on a task, or a reference (identity, truth)."""

    task: str
    recipe: str
    steps: int | None
    minutes: float | None
    peak_rss_mib: float | None
    scores: StyleScores

    def as_dict(self) -> dict[str, object]:
        """Flat, for quality.json: the run's columns, then every score."""
        flat = {k: v for k, v in asdict(self).items() if k != "scores"}
        return {**flat, **asdict(self.scores)}


@dataclass
class Trained:
    model: Path
    seconds: float
    peak_rss_mib: float

    def write(self, run_dir: Path) -> None:
        """Beside the run: what rescoring needs to fill the time and memory columns again."""
        record = {"seconds": self.seconds, "peak_rss_mib": self.peak_rss_mib}
        (run_dir / TRAINED_NAME).write_text(json.dumps(record))

    @classmethod
    def read(cls, run_dir: Path) -> Trained:
        model = run_dir / "model.safetensors"
        try:
            record = json.loads((run_dir / TRAINED_NAME).read_text())
        except (OSError, ValueError):
            record = {"seconds": 0.0, "peak_rss_mib": 0.0}
        if not model.is_file():
            raise StyleforgeError(f"nothing to rescore: {model} does not exist")
        return cls(model, float(record["seconds"]), float(record["peak_rss_mib"]))


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
    task: StyleTask,
    recipe: str,
    options: str,
    run_dir: Path,
    *,
    minutes: float,
    threads: int,
    seed: int,
    device: str = "auto",
) -> Trained:
    """One `styleforge train` process with a time budget on `device`; its own peak RSS via
    wait4."""
    log_path = run_dir.with_suffix(".log")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "styleforge", "train",
        "--content", str(task.content), "--style", str(task.style), "--out", str(run_dir),
        "--overwrite", "--time-budget", str(minutes), "--steps", "1000000",
        "--threads", str(threads), "--seed", str(seed), "--device", device, *DATA_OPTIONS,
        *shlex.split(options),
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
    trained = Trained(
        run_dir / "model.safetensors", time.perf_counter() - start, usage.ru_maxrss / 1024
    )
    trained.write(run_dir)
    return trained


def run_quality_bench(
    tasks: list[StyleTask],
    recipes: dict[str, str],
    out: Path,
    minutes: float,
    *,
    jobs: int = 1,
    threads: int = 0,
    seed: int = 0,
    train: bool = True,
    device: str = "auto",
) -> list[Row]:
    """Train every recipe on every task (`jobs` at a time), then score and draw grids; training,
    stylizing and the feature network run on `device`.

    With `train=False` the models already under `out` are scored again (new measures, a changed
    scorer) without training."""
    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    plan = [(task, name) for task in tasks for name in recipes]

    def run(item: tuple[StyleTask, str]) -> Trained:
        task, name = item
        run_dir = out / "runs" / task.name / name
        if not train:
            return Trained.read(run_dir)
        return train_once(
            task, name, recipes[name], run_dir, minutes=minutes, threads=threads, seed=seed,
            device=device,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=jobs if train else 1) as pool:
        trained = list(pool.map(run, plan))
    net = EfficientNetLite0(pick_device(device))
    rows = []
    for task in tasks:
        scorer = TaskScorer(task, net)
        rows += [Row(task.name, ref, None, None, None, s) for ref, s in scorer.references().items()]
        columns = {}
        for (t, name), result in zip(plan, trained, strict=True):
            if t is not task:
                continue
            columns[name] = scorer.stylize(result.model, out / "outputs" / task.name / name)
            steps = int(read_metadata(result.model, MODEL_FORMAT).get("step", 0))
            rows.append(
                Row(task.name, name, steps, result.seconds / 60, result.peak_rss_mib,
                    scorer.score(columns[name]))
            )  # fmt: skip
        scorer.grid(columns, out / "grids" / f"{task.name}.jpg")
    (out / "quality.json").write_text(json.dumps([r.as_dict() for r in rows], indent=2))
    (out / "quality.md").write_text(to_markdown(rows) + "\n")
    return rows


COLUMNS = (
    "task", "recipe", "probe share", "probe acc.", "FD-ENL0", "FD gap closed", "FD drop", "SSIM",
    "SSIM gap closed", "PSNR", "content", "truth content", "steps", "minutes", "peak RSS MiB",
)  # fmt: skip


def to_markdown(rows: list[Row]) -> str:
    """The benchmark table: a task's identity and truth rows, then its recipes; '-' where a
    task has no ground truth. A probe share marked '*' comes from a probe whose held-out
    accuracy is below TRUSTED_PROBE: reported, not counted."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        s = r.scores
        trusted = "" if s.probe_accuracy >= TRUSTED_PROBE else "*"
        cells = [
            r.task, r.recipe, _num(s.probe_share, 2) + trusted, _num(s.probe_accuracy, 2),
            _num(s.fd_enl0, 1), _num(s.fd_gap_closed, 2), _num(s.fd_drop, 3), _num(s.ssim, 4),
            _num(s.ssim_gap_closed, 3), _num(s.psnr, 2), _num(s.content_ssim, 3),
            _num(s.truth_content_ssim, 3), "-" if r.steps is None else str(r.steps),
            _num(r.minutes, 1), _num(r.peak_rss_mib, 0),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"
