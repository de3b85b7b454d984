"""The quality benchmark's pipeline, in its reduced CI form: one style, a one-minute budget.

This checks that the benchmark builds its tasks, trains each recipe in its own process, scores
against the truth and draws the grid; the quality claims live in docs/quality.md, measured with
the full benchmark (10 minutes per run), not here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleforge.bench.quality_data import (
    PIP_PHOTOS,
    TEST_PHOTOS,
    build_tasks,
    member_images,
    unpack,
)
from styleforge.cli import main
from styleforge.data.demo import photo
from styleforge.data.procedural import STYLES
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.unpaired import content_ssim


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_procedural_style_is_a_real_change_of_the_same_size(style: str) -> None:
    img = np.asarray(photo("coffee"))
    out = STYLES[style](img)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 3


def test_tasks_keep_style_photos_apart_from_content_and_test_photos(tmp_path: Path) -> None:
    tasks = build_tasks(tmp_path, ["grade", "oil"], debian_cache=None, painting=False)
    assert [t.name for t in tasks] == ["grade", "oil"]
    content = {p.stem for p in tasks[0].content.iterdir()}
    style = {p.stem for p in tasks[0].style.iterdir()}
    test = {p.stem for p in tasks[0].test.iterdir()}
    assert content and style and test
    assert not content & style and not content & test and not style & test
    assert content | style | test == set(PIP_PHOTOS)
    assert test == {name for name in TEST_PHOTOS if name in PIP_PHOTOS}
    truth = Image.open(tasks[0].truth / "coffee.png")
    assert np.array_equal(np.asarray(truth), STYLES["grade"](np.asarray(photo("coffee"))))


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")
def test_a_package_gives_only_the_named_folders_and_files(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: photos\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n"
    )
    wanted, other = root / "usr/share/photos", root / "usr/share/other"
    wanted.mkdir(parents=True)
    other.mkdir(parents=True)
    for folder, name in [(wanted, "a.png"), (wanted, "b.jpg"), (other, "c.png"), (other, "d.png")]:
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / name)
    (other / "c.png.txt").write_text("not the file asked for")
    deb = tmp_path / "photos.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)

    members = ("./usr/share/photos/", "./usr/share/other/c.png")
    target = tmp_path / "unpacked"
    unpack(deb, target, members)
    found = member_images(target, members)
    assert [p.relative_to(target).as_posix() for p in found] == [
        "usr/share/other/c.png",
        "usr/share/photos/a.png",
        "usr/share/photos/b.jpg",
    ]
    assert not (target / "usr/share/other/d.png").exists()
    assert not (target / "usr/share/other/c.png.txt").exists()


def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["bench", "--quality", "--no-debian", "--out", str(tmp_path / "q")]
    assert main([*base, "--styles", "watercolour"]) != 0
    assert "unknown task 'watercolour'" in capsys.readouterr().err
    assert main([*base, "--recipe", "no-equals-sign"]) != 0
    assert "NAME=OPTIONS" in capsys.readouterr().err
    assert main([*base, "--styles", "grade,painting"]) != 0
    assert "painting task needs the Debian packages" in capsys.readouterr().err


@pytest.mark.slow
def test_reduced_quality_benchmark_runs_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "quality"
    args = ["bench", "--quality", "--no-debian", "--styles", "grade", "--minutes", "1"]
    assert main([*args, "--jobs", "2", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    for recipe in ("identity", "truth", "default", "resnet9-cycle"):
        assert f"| grade | {recipe} |" in table
    rows = {r["recipe"]: r for r in json.loads((out / "quality.json").read_text())}
    assert list(rows) == ["identity", "truth", "default", "resnet9-cycle"]
    tests = sorted(p.stem for p in (out / "data" / "photos" / "test").iterdir())
    truth = {n: Image.open(out / "data" / "grade" / "truth" / f"{n}.png") for n in tests}
    identity = PairedScores.mean([PairedScores.of(photo(n), truth[n]) for n in tests])
    # the references: the untouched photos close nothing, the truth closes every gap
    assert rows["identity"]["ssim"] == pytest.approx(identity.ssim, abs=1e-9)
    assert rows["identity"]["ssim_gap_closed"] == 0 and rows["identity"]["content_ssim"] == 1
    assert rows["identity"]["fd_gap_closed"] == pytest.approx(0, abs=1e-9)
    assert rows["truth"]["ssim"] == 1 and rows["truth"]["fd_gap_closed"] == pytest.approx(1)
    kept = np.mean([content_ssim(photo(n), truth[n]) for n in tests])
    assert rows["truth"]["content_ssim"] == pytest.approx(kept)
    for row in rows.values():
        assert row["truth_content_ssim"] == pytest.approx(kept)
        assert 0 <= row["probe_share"] <= 1 and 0.5 <= row["probe_accuracy"] <= 1
    for recipe in ("default", "resnet9-cycle"):
        row = rows[recipe]
        assert row["steps"] > 0 and row["peak_rss_mib"] > 50
        assert -1 <= row["ssim"] <= 1 and 0 <= row["content_ssim"] <= 1
        assert np.isfinite(row["fd_enl0"]) and row["fd_enl0"] > 0
        outputs = sorted(p.stem for p in (out / "outputs" / "grade" / recipe).iterdir())
        assert outputs == tests
    grid = Image.open(out / "grids" / "grade.jpg")
    assert grid.size == (224 * 4, 160 * len(tests))  # input, truth, two recipes; a row per photo
    # a second run into the same folder needs --overwrite; --rescore scores what is there again
    assert main([*args, "--out", str(out)]) != 0
    capsys.readouterr()
    assert main([*args, "--out", str(out), "--rescore"]) == 0
    again = json.loads((out / "quality.json").read_text())
    assert [r["probe_share"] for r in again] == [r["probe_share"] for r in rows.values()]
    assert again[2]["minutes"] == pytest.approx(rows["default"]["minutes"])
