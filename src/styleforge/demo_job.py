"""`styleforge demo`: build the demo task, train `lite` with the default recipe, stylize and
score held-out photos.

It prints how much style the outputs carry (the style probe's share) and how much closer to the
procedural ground truth they are (SSIM gap closed), beside the identity baseline (the untouched
input) and the truth itself, and writes `report.html` with the grid.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from styleforge.config import TrainConfig, apply_preset
from styleforge.data.demo import DEMO_SIZE, build_demo_data
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.device import pick_device
from styleforge.errors import StyleforgeError
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.paired import score_paired
from styleforge.evaluation.report import Report
from styleforge.evaluation.style_task import StyleScores, StyleTask, TaskScorer
from styleforge.inference.stylizer import Stylizer
from styleforge.models.pretrained import EfficientNetLite0
from styleforge.run_folder import LOSS_PLOT_NAME
from styleforge.training.api import train

log = logging.getLogger(__name__)
MARKER = "demo.json"
GRID_NAME = "grid.jpg"
STYLE_COLUMNS = (
    "",
    "probe share",
    "FD-ENL0",
    "FD gap closed",
    "SSIM",
    "SSIM gap closed",
    "content",
)


def style_row(name: str, s: StyleScores) -> list[str]:
    """One line of the demo's style table."""
    return [
        name, f"{s.probe_share:.2f}", f"{s.fd_enl0:.1f}", f"{s.fd_gap_closed:.2f}",
        f"{s.ssim:.4f}", f"{s.ssim_gap_closed:.3f}", f"{s.content_ssim:.3f}",
    ]  # fmt: skip


# A fixed number of steps makes the demo reproducible across machines; the time cap keeps its
# training within 10 minutes on a slow 2-core machine (the learning-rate decay then follows the
# clock).
DEMO_STEPS = 1000
DEMO_MINUTES = 10.0


@dataclass
class DemoResult:
    model: str
    steps: int
    train_seconds: float
    stylized: PairedScores
    identity: PairedScores
    style: StyleScores  # the model's outputs
    identity_style: StyleScores  # the untouched photos
    truth_style: StyleScores  # the ground truth
    report: str


def demo_config(
    data_root: Path, steps: int, minutes: float, preset: str, seed: int, device: str = "auto"
) -> TrainConfig:
    """The default recipe, with images at the demo's native scale and 128-pixel crops."""
    config = TrainConfig(seed=seed, steps=steps, time_budget=minutes, device=device)
    apply_preset(config.model, preset)
    config.data.content = str(data_root / "content")
    config.data.style = str(data_root / "style")
    config.data.load_size = DEMO_SIZE  # train at the scale the test photos have
    config.data.crop_size = 128
    config.sample_every = 100
    config.save_every = 200
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
    *,
    minutes: float = DEMO_MINUTES,
    steps: int = DEMO_STEPS,
    preset: str = "lite",
    seed: int = 0,
    overwrite: bool = False,
    device: str = "auto",
) -> DemoResult:
    """Build the data, train, stylize and score; training, stylizing and the feature network
    run on `device` (a missing one fails before any work)."""
    where = pick_device(device)
    out = Path(out)
    prepare_folder(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"status": "running"}))
    log.info("building the demo data set in %s", out / "data")
    data = build_demo_data(out / "data")
    config = demo_config(out / "data", steps, minutes, preset, seed, str(where))
    log.info("training the %s preset for %d steps (at most %.1f minutes)", preset, steps, minutes)
    trained = train(config, out)
    scores = score_paired(
        Stylizer.load(trained.model_path, where), data.test, data.truth, out / "test_stylized"
    )
    task = StyleTask("demo", data.content, data.style, data.test, data.truth)
    scorer = TaskScorer(task, EfficientNetLite0(where))
    references = scorer.references()
    outputs = {p.stem: load_rgb(p) for p in iter_image_files(out / "test_stylized")}
    style = scorer.score(outputs)
    report = Report("styleforge demo: photo -> cartoon")
    report.add_table(
        "style and content (style probe: share of outputs taken for the style; gaps closed: "
        "identity 0, truth 1; content: luminance SSIM to the input)",
        list(STYLE_COLUMNS),
        [style_row(name, s) for name, s in [*references.items(), ("model", style)]],
    )
    scorer.grid({"model": outputs}, out / GRID_NAME)
    report.figures.append(("input | truth | model", out / GRID_NAME))
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
        style,
        references["identity"],
        references["truth"],
        str(report_path),
    )
    (out / MARKER).write_text(json.dumps(asdict(result), indent=2))
    return result
