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
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.errors import StyleforgeError
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.report import ComparisonRow, Report
from styleforge.inference.files import save_image
from styleforge.inference.stylizer import Stylizer
from styleforge.training.monitor import LOSS_PLOT_NAME
from styleforge.training.trainer import Trainer

log = logging.getLogger(__name__)
MARKER = "demo.json"


@dataclass
class DemoResult:
    model: str
    steps: int
    train_seconds: float
    stylized: PairedScores
    identity: PairedScores
    report: str


def demo_config(data_root: Path, minutes: float, preset: str, seed: int) -> TrainConfig:
    """The demo's training recipe: images at their native demo scale, small crops."""
    config = TrainConfig(seed=seed, steps=None, time_budget=minutes)
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
    out: Path, minutes: float = 8.0, preset: str = "lite", seed: int = 0, overwrite: bool = False
) -> DemoResult:
    out = Path(out)
    prepare_folder(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"status": "running"}))
    log.info("building the demo data set in %s", out / "data")
    data = build_demo_data(out / "data")
    config = demo_config(out / "data", minutes, preset, seed)
    log.info("training the %s preset for %.1f minutes", preset, minutes)
    trained = Trainer(config, out).run()
    stylizer = Stylizer.load(trained.model_path)
    report = Report("styleforge demo: photo -> cartoon")
    stylized_scores, identity_scores, rows = [], [], []
    for test_path in iter_image_files(data.test):
        photo = load_rgb(test_path)
        truth = load_rgb(data.truth / test_path.name)
        output = stylizer(photo)
        target = out / "test_stylized" / test_path.name
        save_image(output, target)
        stylized_scores.append(PairedScores.of(output, truth))
        identity_scores.append(PairedScores.of(photo, truth))
        rows.append([test_path.stem, *_cells(stylized_scores[-1]), *_cells(identity_scores[-1])])
        report.rows.append(
            ComparisonRow(
                test_path.stem,
                [
                    ("input", test_path),
                    ("stylized", target),
                    ("ground truth", data.truth / test_path.name),
                ],
            )
        )
    mean_out, mean_idt = PairedScores.mean(stylized_scores), PairedScores.mean(identity_scores)
    rows.append(["mean", *_cells(mean_out), *_cells(mean_idt)])
    header = ["image", "SSIM", "PSNR dB", "MSE", "SSIM (input)", "PSNR (input)", "MSE (input)"]
    report.add_table(
        "stylized vs ground truth, and the identity baseline (input vs truth)", header, rows
    )
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
        mean_out,
        mean_idt,
        str(report_path),
    )
    (out / MARKER).write_text(json.dumps(asdict(result), indent=2))
    return result


def _cells(scores: PairedScores) -> list[str]:
    return [f"{scores.ssim:.4f}", f"{scores.psnr:.2f}", f"{scores.mse:.1f}"]
