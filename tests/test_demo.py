"""The demo job end to end, on a short budget (the full `make demo` trains 1000 steps)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from styleforge.data.demo import SPLITS, build_demo_data, photo
from styleforge.data.procedural import cartoon
from styleforge.demo_job import run_demo
from styleforge.errors import StyleforgeError


def test_demo_splits_are_disjoint() -> None:
    names = [n for split in SPLITS.values() for n in split]
    assert len(names) == len(set(names))


def test_cartoon_is_a_real_change() -> None:
    img = np.asarray(photo("chelsea"))
    out = cartoon(img)
    assert out.shape == img.shape
    assert len(np.unique(out.reshape(-1, 3), axis=0)) < len(np.unique(img.reshape(-1, 3), axis=0))
    assert (out.max(axis=-1) < 30).mean() > 0.01  # ink outlines


def test_demo_data_layout(tmp_path: Path) -> None:
    data = build_demo_data(tmp_path)
    assert sorted(p.stem for p in data.test.iterdir()) == sorted(SPLITS["test"])
    assert sorted(p.name for p in data.test.iterdir()) == sorted(
        p.name for p in data.truth.iterdir()
    )


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_demo(out, minutes=0.2)
    assert result.steps > 0 and Path(result.model).exists()
    html = (out / "report.html").read_text()
    for name in SPLITS["test"]:
        assert (
            f"test_stylized/{name}.png" in html and (out / "test_stylized" / f"{name}.png").exists()
        )
    saved = json.loads((out / "demo.json").read_text())
    assert 0 < saved["identity"]["ssim"] < 1
    # the style table: the untouched photos close no gap, the truth every gap
    assert saved["identity_style"]["ssim_gap_closed"] == 0
    assert saved["truth_style"]["ssim_gap_closed"] == 1
    assert saved["truth_style"]["fd_gap_closed"] == pytest.approx(1)
    assert saved["truth_style"]["probe_share"] > saved["identity_style"]["probe_share"]
    assert 0 <= saved["style"]["probe_share"] <= 1
    assert "probe share" in html and (out / "grid.jpg").exists()
    with pytest.raises(StyleforgeError, match="--overwrite"):
        run_demo(out, minutes=0.1)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(StyleforgeError, match="not a styleforge demo folder"):
        run_demo(other, minutes=0.1, overwrite=True)
    assert (other / "precious.txt").exists()


def test_cartoon_keeps_white_white() -> None:
    white = np.full((32, 32, 3), 255, dtype=np.uint8)
    assert cartoon(white).min() >= 230  # posterising must not wrap bright pixels around
