"""Stylizing: sizes kept, names kept, bad inputs reported, nothing overwritten by surprise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import real_photo, tiny_config
from styleforge.inference.backend import pad_to_multiple
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import save_model
from styleforge.models.stylenet import StyleNet


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    config = tiny_config()
    config.model.styles = ["ink", "paint"]
    torch.manual_seed(1)
    net = StyleNet(config.model)
    # make the style modulation non-trivial so styles and seeds change the output, and move
    # the head and the texture gain off zero (the skip path starts as the identity)
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    torch.nn.init.normal_(net.generator.head.weight, std=0.05)
    torch.nn.init.normal_(net.generator.detail.out.weight, std=0.05)
    path = tmp_path / "model.safetensors"
    save_model(path, net, config, {"step": 0})
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "styleforge", *args], capture_output=True, text=True, timeout=300
    )


def test_odd_size_is_kept(model_file: Path) -> None:
    stylizer = Stylizer.load(model_file)
    photo = real_photo("astronaut", 177).crop((0, 0, 301, 177))
    assert photo.size == (301, 177)
    out = stylizer(photo)
    assert isinstance(out, Image.Image) and out.size == (301, 177)


def test_tiny_and_strip_images(model_file: Path) -> None:
    stylizer = Stylizer.load(model_file)
    assert stylizer(Image.new("RGB", (1, 1), (9, 9, 9))).size == (1, 1)
    assert stylizer(Image.new("RGB", (200, 3), (9, 200, 9))).size == (200, 3)


def test_api_types(model_file: Path) -> None:
    stylizer = Stylizer.load(model_file)
    arr = np.asarray(real_photo("coffee", 40))
    out = stylizer(arr)
    assert isinstance(out, np.ndarray) and out.shape == arr.shape and out.dtype == np.uint8
    tensor = torch.rand(2, 3, 30, 42)
    got = stylizer(tensor)
    assert got.shape == tensor.shape and 0 <= float(got.min()) and float(got.max()) <= 1
    single = stylizer(tensor[0])
    assert single.shape == (3, 30, 42)
    assert torch.allclose(single, got[0], atol=1e-5)  # batching does not change results


def test_style_and_seed_change_the_output(model_file: Path) -> None:
    stylizer = Stylizer.load(model_file)
    photo = real_photo("chelsea", 48)
    a = np.asarray(stylizer(photo, style="ink", seed=0), dtype=float)
    assert np.array_equal(a, np.asarray(stylizer(photo, style="ink", seed=0), dtype=float))
    assert np.abs(a - np.asarray(stylizer(photo, style="paint", seed=0), dtype=float)).mean() > 0.5
    assert np.abs(a - np.asarray(stylizer(photo, style="ink", seed=5), dtype=float)).mean() > 0.5


def test_padding_restores_size() -> None:
    x = torch.rand(1, 3, 37, 21)
    padded, size = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (40, 24) and size == (37, 21)
    assert torch.equal(padded[..., :37, :21], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 3, 1, 1), 4)
    assert tiny.shape[-2:] == (16, 16)


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
