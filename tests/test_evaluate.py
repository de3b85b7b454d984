"""The evaluate command: paired and unpaired scores of several models, an identity baseline,
and results never replaced without --overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import _evaluate_argv, console, shown_lines
from styleforge.cli import main
from styleforge.evaluation.evaluate import run_evaluation
from styleforge.evaluation.metrics import ssim


@pytest.mark.slow
def test_evaluate_writes_report_and_metrics_for_several_models(
    eval_task: dict[str, Path], evaluated: Path
) -> None:
    metrics = json.loads((evaluated / "metrics.json").read_text())
    rows = metrics["models"]
    assert list(rows) == ["input (identity)", "run0", "run1"]
    for scores in rows.values():
        assert {"SSIM", "PSNR", "MSE", "FD-ENL0", "KD-ENL0", "content SSIM"} <= set(scores)
    assert rows["input (identity)"]["content SSIM"] == pytest.approx(1.0)
    # the style measures: the untouched photos close no gap and the probe takes none of them
    assert rows["input (identity)"]["SSIM gap closed"] == 0
    assert rows["input (identity)"]["style probe"] == 0
    for scores in rows.values():
        assert 0 <= scores["style probe"] <= 1
        identity_ssim = rows["input (identity)"]["SSIM"]
        closed = (scores["SSIM"] - identity_ssim) / (1 - identity_ssim)
        assert scores["SSIM gap closed"] == pytest.approx(closed)
    assert rows["run0"]["SSIM"] != rows["run1"]["SSIM"]  # two different models were run
    # the identity row is the real input-vs-truth score
    truth = np.asarray(Image.open(eval_task["truth"] / "coffee.jpg"))
    photo = np.asarray(Image.open(eval_task["test"] / "coffee.png"))
    assert metrics["per_image"]["input (identity)"]["coffee"]["SSIM"] == pytest.approx(
        ssim(photo, truth)
    )
    assert any("only 2 images" in note for note in metrics["notes"])
    page = (evaluated / "report.html").read_text()
    assert "run0/coffee.png" in page and "metrics.png" in page and "losses of run0" in page
    assert Image.open(evaluated / "metrics.png").size[0] > 100


@pytest.mark.slow
def test_evaluate_refuses_to_replace_results_without_overwrite(
    eval_task: dict[str, Path], evaluated: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = _evaluate_argv(eval_task, evaluated)
    assert main(argv) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert "FD-ENL0" in capsys.readouterr().out


def test_evaluate_shows_its_progress_on_a_terminal(
    model_file: Path, photo_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A bar over the models x images it stylizes, another over the rows (identity included) x
    images it scores; here the photos are their own references (paired: no feature network)."""
    content = photo_dirs[0]
    with console() as stderr:
        run_evaluation([model_file], content, tmp_path / "eval", reference=content)
    lines = shown_lines(stderr.getvalue())
    assert any(line.startswith("stylizing: 100%") and "2/2" in line for line in lines)
    assert any(line.startswith("scoring: 100%") and "4/4" in line for line in lines)
