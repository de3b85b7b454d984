"""ONNX export: `styleforge export` writes a file that `stylize` runs like the PyTorch model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import real_photo
from styleforge.inference.onnx_backend import OnnxStylizer
from styleforge.inference.stylizer import Stylizer, open_stylizer
from styleforge.modelfile import save_model

pytestmark = pytest.mark.slow  # end to end (training, export, processes): not in `make test-fast`


def test_cli_export_and_stylize_with_onnx(stylizer: Stylizer, tmp_path: Path) -> None:
    model = tmp_path / "model.safetensors"
    save_model(model, stylizer.net, stylizer.config, {"step": 0})
    real_photo("chelsea", 80).save(tmp_path / "cat.png")

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "styleforge", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    out = tmp_path / "toon.onnx"
    done = cli("export", str(model), "-o", str(out))
    assert done.returncode == 0, done.stderr
    again = cli("export", str(model), "-o", str(out))
    assert again.returncode == 1 and again.stderr.startswith("error:")
    for backend_model, folder in ((out, "onnx"), (model, "torch")):
        args = [str(backend_model), str(tmp_path / "cat.png"), "-o", str(tmp_path / folder)]
        done = cli("stylize", *args, "--style", "paint", "--seed", "1")
        assert done.returncode == 0, done.stderr
    a = np.asarray(Image.open(tmp_path / "onnx" / "cat.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "torch" / "cat.png"), dtype=np.int16)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1
    assert isinstance(open_stylizer(out), OnnxStylizer)
