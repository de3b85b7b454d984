"""Optional extras: a command whose packages are missing names the pip install in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import real_photo, untrained_stylizer
from styleforge.cli import main
from styleforge.modelfile import save_model


def block_import(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make `import module` fail as it does where the package is not installed."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    stylizer = untrained_stylizer(seed=0)
    path = tmp_path / "model.safetensors"
    save_model(path, stylizer.net, stylizer.config, {"step": 0})
    return path


def test_serve_without_the_serve_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    block_import(monkeypatch, "uvicorn")
    assert main(["serve", "--models", str(tmp_path)]) == 1
    assert "pip install 'styleforge[serve]'" in one_error_line(capsys)


def test_export_without_the_onnx_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, model: Path
) -> None:
    block_import(monkeypatch, "onnx")
    out = model.with_suffix(".onnx")
    assert main(["export", str(model), "-o", str(out)]) == 1
    assert "pip install 'styleforge[onnx]'" in one_error_line(capsys)
    assert not out.exists()


def test_video_without_the_video_extra_stops_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, model: Path, tmp_path: Path
) -> None:
    block_import(monkeypatch, "av")
    real_photo("coffee").save(tmp_path / "photo.png")
    (tmp_path / "clip.mp4").write_bytes(b"not decoded: the extra is missing")
    args = ["stylize", str(model), str(tmp_path / "photo.png"), str(tmp_path / "clip.mp4")]
    assert main([*args, "-o", str(tmp_path / "out")]) == 1
    assert "pip install 'styleforge[video]'" in one_error_line(capsys)
    assert not (tmp_path / "out" / "photo.png").exists()
