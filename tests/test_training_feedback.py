"""What a run shows while it trains: the bar's losses, the sample grids and the style probe's
share in TensorBoard and metrics.jsonl."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from conftest import console, shown_lines, tiny_config
from styleforge.inference.stylizer import Stylizer
from styleforge.training import output_filter
from styleforge.training.monitor import bar_postfix, read_metrics
from styleforge.training.run_report import TrainProgress
from styleforge.training.trainer import Trainer


def test_bar_postfix_shows_a_few_short_losses_and_the_time_left() -> None:
    means = {"loss/d": 1.23456, "loss/g_gan": 0.5, "loss/sty": 0.1, "loss/feat": 2e-5}
    means |= {"loss/nce": 3.0, "loss/cycle": 4.0}
    assert bar_postfix(means) == {"D": "1.23", "G": "0.5", "feat": "2e-05", "nce": "3"}
    assert bar_postfix({"loss/d": 1.0}, seconds_left=65.2)["left"] == "01:05"


def test_the_bar_shows_losses_and_a_warning_is_a_line_above_it(tmp_path: Path, photo_dirs) -> None:
    def warn_at_step_3(progress: TrainProgress) -> None:
        if progress.step == 3:
            logging.getLogger("styleforge.test").warning("callback at step %d", progress.step)

    trainer = Trainer(tiny_config(*photo_dirs, steps=4), tmp_path / "run")
    with console() as stderr:
        trainer.run(progress=warn_at_step_3)
    text = stderr.getvalue()
    assert "4/4" in text and "it/s" in text
    assert all(f"{name}=" in text for name in ("D", "G", "feat"))
    assert "WARNING: callback at step 3" in shown_lines(text)


def two_styles(photo_dirs: tuple[Path, Path], root: Path) -> Path:
    """A style root with two subfolders (two styles) of the fixture's style images."""
    styles = root / "styles"
    for name, image in zip(("ink", "paint"), sorted(photo_dirs[1].iterdir()), strict=True):
        (styles / name).mkdir(parents=True)
        shutil.copy(image, styles / name / image.name)
        shutil.copy(image, styles / name / f"copy{image.suffix}")
    return styles


def test_probe_share_is_logged_with_each_sample_grid(tmp_path: Path, photo_dirs) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_config(photo_dirs[0], two_styles(photo_dirs, tmp_path), steps=4)
    config.style_probe, config.sample_every = True, 2
    trainer = Trainer(config, tmp_path / "run")
    on = {name: output_filter.FilterChoice(1.0, {}, {}) for name in ("ink", "paint")}
    output_filter.set_weights([trainer.nets.net, trainer.nets.ema.model], on)  # as if resumed
    seen = []  # while training, every style's output filter is off
    trainer.run(
        progress=lambda _: seen.append(
            trainer.nets.ema.model.mapping.offsets.output_filter.sum().item()
        )
    )
    assert seen and not any(seen)
    metrics = read_metrics(tmp_path / "run" / "metrics.jsonl")
    rows = [r for r in metrics if "probe/share" in r]
    assert [r["step"] for r in rows] == [2, 4]  # the end's grid is step 4's: written once
    for row in rows:
        for key in ("probe/share", "probe/share/ink", "probe/share/paint"):
            assert 0 <= row[key] <= 1
        assert row["probe/share"] == pytest.approx(
            (row["probe/share/ink"] + row["probe/share/paint"]) / 2
        )
    # at the end each style chose its output filter by the probe, and the model file keeps it
    (choice,) = [r for r in metrics if "output_filter/ink" in r]
    chosen = [choice[f"output_filter/{name}"] for name in ("ink", "paint")]
    for name, weight in zip(("ink", "paint"), chosen, strict=True):
        at = {w: choice[f"output_filter/{name}/probability_at_{w:g}"] for w in (0, 0.5, 1)}
        assert weight in (0, 0.5, 1) and (weight == 0 or at[weight] > at[0])
    shipped = Stylizer.load(trainer.model_path).net
    assert shipped.mapping.offsets.output_filter.flatten().tolist() == chosen
    assert shipped.encoder.offsets.output_filter.flatten().tolist() == chosen
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    assert [e.step for e in events.Scalars("probe/share")] == [2, 4]
    assert [e.step for e in events.Images("samples")] == [2, 4]
