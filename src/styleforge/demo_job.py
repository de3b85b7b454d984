"""`styleforge demo`: build the demo task, train `lite`, stylize and score held-out photos.

It prints SSIM and PSNR of the stylized test photos against their procedural ground truth next to
the identity baseline (the untouched input against the same truth), and writes `report.html`.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from styleforge.config import TrainConfig, apply_preset
from styleforge.data.demo import DEMO_SIZE, build_demo_data
from styleforge.errors import StyleforgeError
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.paired import score_paired
from styleforge.evaluation.report import Report
from styleforge.inference.stylizer import Stylizer
from styleforge.training.monitor import LOSS_PLOT_NAME
from styleforge.training.trainer import Trainer

log = logging.getLogger(__name__)
MARKER = "demo.json"
# The recipe's SSIM peaks after about this many steps and then slowly falls as the GAN starts
# adding ink of its own (measured: docs/quality.md), so the demo trains a fixed number of steps,
# which also makes it reproducible across machines; the time cap keeps `make demo` within its
# 15 minutes on a slow machine (the learning-rate decay then follows the clock).
DEMO_STEPS = 600
DEMO_MINUTES = 12.0


@dataclass
class DemoResult:
    model: str
    steps: int
    train_seconds: float
    stylized: PairedScores
    identity: PairedScores
    report: str


def demo_config(data_root: Path, steps: int, minutes: float, preset: str, seed: int) -> TrainConfig:
    """The demo's training recipe: images at their native demo scale, 128-pixel crops."""
    config = TrainConfig(seed=seed, steps=steps, time_budget=minutes)
    apply_preset(config.model, preset)
    config.data.content = str(data_root / "content")
    config.data.style = str(data_root / "style")
    config.data.load_size = DEMO_SIZE  # train at the scale the test photos have
    config.data.crop_size = 128
    config.sample_every = 100
    config.save_every = 200
    # the recipe measured best on this task within minutes on a 2-core CPU (docs/quality.md):
    # start from the identity map; let the discriminator judge luminance only (texture and ink,
    # not the palettes of the two photo sets, which taught colour fringes); anchor chroma on
    # 8-pixel blocks and luminance on 32-pixel ones; decay the lr over the second half; and skip
    # the diversity term (the demo scores a single output per photo)
    config.model.skip = True
    config.model.disc_input = "luma"
    config.optim.lambda_color = 40.0
    config.optim.color_anchor = "absolute"
    config.optim.color_pool = 8
    config.optim.luma_pool = 32
    config.optim.decay_start = 0.5
    config.optim.lambda_ds = 0.0
    return config


def prepare_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder that is not an earlier demo's, and an old demo without --overwrite."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / MARKER).exists():
        raise StyleforgeError(
            f"{out} exists and is not a styleforge demo folder; choose another --out"
        )
    if not overwrite:
        raise StyleforgeError(f"{out} holds an earlier demo; pass --overwrite to replace it")
    shutil.rmtree(out)


def run_demo(
    out: Path,
    minutes: float = DEMO_MINUTES,
    steps: int = DEMO_STEPS,
    preset: str = "lite",
    seed: int = 0,
    overwrite: bool = False,
) -> DemoResult:
    out = Path(out)
    prepare_folder(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"status": "running"}))
    log.info("building the demo data set in %s", out / "data")
    data = build_demo_data(out / "data")
    config = demo_config(out / "data", steps, minutes, preset, seed)
    log.info("training the %s preset for %d steps (at most %.1f minutes)", preset, steps, minutes)
    trained = Trainer(config, out).run()
    scores = score_paired(
        Stylizer.load(trained.model_path), data.test, data.truth, out / "test_stylized"
    )
    report = Report("styleforge demo: photo -> cartoon")
    scores.add_to(report)
    report.notes.append(
        f"{preset} preset, {trained.steps} steps in {trained.seconds / 60:.1f} min of training."
    )
    if (out / LOSS_PLOT_NAME).exists():
        report.figures.append(("losses", out / LOSS_PLOT_NAME))
    report_path = report.write(out / "report.html")
    result = DemoResult(
        str(trained.model_path),
        trained.steps,
        trained.seconds,
        scores.mean,
        scores.identity_mean,
        str(report_path),
    )
    (out / MARKER).write_text(json.dumps(asdict(result), indent=2))
    return result
