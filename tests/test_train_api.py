"""The Python training API: `styleforge.train` and `styleforge.resume` return the run folder and
a model file `Stylizer.load` opens, report progress after every step, and raise
StyleforgeError for a user's mistakes before writing anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import styleforge
from conftest import tiny_config
from styleforge import Stylizer, TrainProgress, resume, train
from styleforge.errors import StyleforgeError


@pytest.mark.slow
def test_train_then_resume_report_every_step_and_leave_a_model(
    tmp_path: Path, photo_dirs: tuple[Path, Path]
) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=3, device="cpu")
    seen: list[TrainProgress] = []
    out = tmp_path / "run"

    result = train(config, out, progress=seen.append)

    assert result.run_dir == out and result.model_path == out / "model.safetensors"
    assert (result.steps, result.interrupted) == (3, False)
    assert Stylizer.load(result.model_path, device="cpu").styles == ["style"]
    assert (out / "config.yaml").is_file()
    assert [p.step for p in seen] == [1, 2, 3]
    assert all(p.total_steps == 3 and p.budget_seconds is None for p in seen)
    assert [p.fraction for p in seen] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert all("loss/g_gan" in p.losses and "loss/d" in p.losses for p in seen), seen[0].losses
    assert 0 < seen[0].seconds <= seen[-1].seconds <= result.seconds

    more: list[TrainProgress] = []
    resumed = resume(out, steps=5, progress=more.append)
    assert [p.step for p in more] == [4, 5] and resumed.steps == 5
    assert resumed.model_path == result.model_path


def test_a_folder_holding_a_run_is_refused(tmp_path: Path, photo_dirs) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"an earlier run's model")
    with pytest.raises(StyleforgeError, match="already holds a run"):
        train(tiny_config(*photo_dirs), tmp_path)


def test_bad_options_raise_before_anything_is_written(tmp_path: Path, photo_dirs) -> None:
    config = tiny_config(*photo_dirs)
    config.optim.lr = -1
    with pytest.raises(StyleforgeError, match="--lr"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_package_exports_the_api_without_importing_torch() -> None:
    from styleforge.training import api, run_report

    assert (styleforge.train, styleforge.resume) == (api.train, api.resume)
    assert styleforge.TrainResult is run_report.TrainResult
    assert {"train", "resume", "TrainConfig", "TrainResult", "TrainProgress"} <= set(
        dir(styleforge)
    )
    code = "import sys, styleforge; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
