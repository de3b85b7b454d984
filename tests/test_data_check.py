"""`styleforge data check` on real photos: sizes, tiny images, corrupt files, exact and near
duplicates (within a style and across folders), and the perceptual hash itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import real_photo
from styleforge.data.check import NEAR_DUPLICATE_BITS, check_folders, hamming, phash

DISTINCT = ("astronaut", "chelsea", "coffee", "rocket", "camera")


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Distinct photos plus an exact copy, a near copy, a corrupt file and a tiny image."""
    folder = tmp_path / "messy"
    folder.mkdir()
    for name in DISTINCT:
        real_photo(name).save(folder / f"{name}.png")
    # exact copy in another format: same decoded pixels, different bytes
    Image.open(folder / "astronaut.png").save(folder / "astronaut_copy.bmp")
    # near copy: resized slightly and re-saved as JPEG at quality 80
    coffee = real_photo("coffee")
    coffee.resize((coffee.width - 8, coffee.height - 5), Image.BICUBIC).save(
        folder / "coffee_small.jpg", quality=80
    )
    rng = np.random.default_rng(0)
    (folder / "corrupt.png").write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    real_photo("chelsea", 10).crop((0, 0, 10, 10)).save(folder / "tiny.png")
    return folder


def _assert_messy_report(text: str) -> None:
    assert "messy: 8 images loaded, 1 skipped" in text
    assert "skipped " in text and "corrupt.png" in text
    assert "tiny (shorter side < 64 px): tiny.png 10x10" in text
    assert "duplicate: astronaut.png = astronaut_copy.bmp (same pixels)" in text
    assert "near duplicate: coffee.png ~ coffee_small.jpg" in text
    assert "sizes min 10x10," in text
    # nothing else is paired up: the distinct photos are far apart
    assert text.count(" ~ ") == 1 and text.count(" = ") == 1, text


def test_check_folders_reports_everything(messy: Path) -> None:
    report = check_folders([messy])
    text = report.render()
    _assert_messy_report(text)
    assert report.usable
    pairs = {(p.a.name, p.b.name): p for p in report.duplicates}
    assert set(pairs) == {
        ("astronaut.png", "astronaut_copy.bmp"),
        ("coffee.png", "coffee_small.jpg"),
    }
    assert pairs["astronaut.png", "astronaut_copy.bmp"].exact
    assert pairs["coffee.png", "coffee_small.jpg"].distance <= NEAR_DUPLICATE_BITS
    assert "warning" not in text  # one style: no cross-style or imbalance warnings


def test_cli_data_check_reports_everything(messy: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "styleforge", "data", "check", str(messy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    _assert_messy_report(proc.stdout)


def test_duplicates_across_styles_and_roots_warn(tmp_path: Path) -> None:
    ink, oil, extra = tmp_path / "styles" / "ink", tmp_path / "styles" / "oil", tmp_path / "extra"
    for folder in (ink, oil, extra):
        folder.mkdir(parents=True)
    real_photo("coffee").save(ink / "a.png")
    real_photo("rocket").save(ink / "b.png")
    shutil.copy(ink / "a.png", oil / "same.png")
    real_photo("chelsea").save(oil / "c.png")
    real_photo("rocket", 120).save(extra / "rocket_big.jpg", quality=80)
    text = check_folders([tmp_path / "styles", extra]).render()
    assert "warning: duplicate in two styles: styles/ink/a.png = styles/oil/same.png" in text
    assert "warning: near duplicate in two styles: styles/ink/b.png ~ extra/rocket_big.jpg" in text
    assert "styles/ink: 2 images loaded" in text and "extra: 1 images loaded" in text
    assert text.count("warning:") == 2, text


def test_phash_resized_close_and_different_photos_far() -> None:
    astronaut = real_photo("astronaut", 128)
    resized = astronaut.resize((100, 100), Image.BICUBIC)
    assert hamming(phash(astronaut), phash(resized)) <= NEAR_DUPLICATE_BITS
    assert hamming(phash(astronaut), phash(real_photo("chelsea", 128))) > 10
    assert hamming(phash(real_photo("coffee")), phash(real_photo("rocket"))) > 10
    assert 0 <= phash(astronaut) < 2**64
