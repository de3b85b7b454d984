"""Stylizing files, globs and folders (through `styleforge stylize`): sizes and names kept, bad
inputs reported, nothing overwritten by surprise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from conftest import real_photo


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "styleforge", *args], capture_output=True, text=True, timeout=300
    )


def test_folder_with_bad_files(tmp_path: Path, model_file: Path) -> None:
    src = tmp_path / "photos"
    (src / "sub").mkdir(parents=True)
    real_photo("astronaut", 50).save(src / "a.png")
    real_photo("coffee", 60).save(src / "b.jpg")
    real_photo("rocket", 40).save(src / "sub" / "c.png")
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (src / "zero.jpg").write_bytes(b"")
    (src / "text.jpg").write_text("hello, I am text")
    proc = run_cli("stylize", str(model_file), str(src), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1
    for bad in ("corrupt.png", "zero.jpg", "text.jpg"):
        assert bad in proc.stderr
    assert "Traceback" not in proc.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]
    assert Image.open(out / "b.jpg").size == Image.open(src / "b.jpg").size
    # --recursive keeps the subfolder
    proc = run_cli("stylize", str(model_file), str(src), "-o", str(tmp_path / "rec"), "--recursive")
    assert (tmp_path / "rec" / "sub" / "c.png").exists()


def test_refuses_to_overwrite(tmp_path: Path, model_file: Path) -> None:
    real_photo("chelsea", 32).save(tmp_path / "in.png")
    out = tmp_path / "out"
    assert (
        run_cli("stylize", str(model_file), str(tmp_path / "in.png"), "-o", str(out)).returncode
        == 0
    )
    before = (out / "in.png").read_bytes()
    proc = run_cli(
        "stylize", str(model_file), str(tmp_path / "in.png"), "-o", str(out), "--seed", "3"
    )
    assert proc.returncode == 1 and "--overwrite" in proc.stderr
    assert (out / "in.png").read_bytes() == before
    proc = run_cli(
        "stylize",
        str(model_file),
        str(tmp_path / "in.png"),
        "-o",
        str(out),
        "--seed",
        "3",
        "--overwrite",
    )
    assert proc.returncode == 0 and (out / "in.png").read_bytes() != before


def test_glob_and_unknown_style(tmp_path: Path, model_file: Path) -> None:
    for name in ("x1.png", "x2.png"):
        real_photo("coffee", 24).save(tmp_path / name)
    proc = run_cli("stylize", str(model_file), str(tmp_path / "x*.png"), "-o", str(tmp_path / "o"))
    assert proc.returncode == 0 and sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "x1.png",
        "x2.png",
    ]
    proc = run_cli(
        "stylize",
        str(model_file),
        str(tmp_path / "x1.png"),
        "-o",
        str(tmp_path / "p"),
        "--style",
        "nope",
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: unknown style")
