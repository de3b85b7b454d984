"""ONNX export: onnxruntime matches PyTorch (fp32, max abs < 1e-3) at two sizes; CLI round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import real_photo, tiny_config, with_statistics_transfer
from styleforge.data.augment import pil_to_unit
from styleforge.inference.export import export_onnx
from styleforge.inference.onnx_backend import OnnxStylizer
from styleforge.inference.stylizer import Stylizer, open_stylizer
from styleforge.modelfile import save_model

pytestmark = pytest.mark.slow  # end to end (training, export, processes): not in `make test-fast`

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    config = tiny_config()
    config.model.styles = ["ink", "paint"]
    config.model.skip = True  # the skip path (atanh) must export too
    config.model.local_affine = 8  # and the per-region transforms
    config.model.detail_radius = 2  # and the texture gain
    torch.manual_seed(2)
    net = with_statistics_transfer(config)  # and the statistics transfer
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    torch.nn.init.normal_(net.generator.head.weight, std=0.05)
    torch.nn.init.normal_(net.generator.local_affine.out.weight, std=0.05)
    torch.nn.init.normal_(net.generator.detail.out.weight, std=0.05)
    return Stylizer(net, config, torch.device("cpu"))


@pytest.fixture(scope="module")
def onnx_file(stylizer: Stylizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(stylizer, path, seeds=3)
    return path


@pytest.mark.parametrize("size", [(96, 128), (203, 150)])
def test_onnxruntime_matches_pytorch(stylizer: Stylizer, onnx_file: Path, size) -> None:
    runtime = OnnxStylizer.load(onnx_file, threads=1)
    photo = real_photo("astronaut", max(size)).crop((0, 0, *size))
    x = torch.stack([pil_to_unit(photo), pil_to_unit(photo.transpose(Image.FLIP_LEFT_RIGHT))])
    x = x * 2 - 1
    for options in (
        {},
        {"style": "paint", "seed": 2, "truncation": 0.6},
        {"mix": {"ink": 1, "paint": 1}},
    ):
        torch_code, onnx_code = stylizer.style_code(**options), runtime.style_code(**options)
        assert torch.allclose(torch_code, onnx_code, atol=1e-6)
        expected = stylizer.stylize_tensor(x, torch_code)
        got = runtime.stylize_tensor(x, onnx_code)
        assert got.shape == expected.shape == x.shape
        assert (got - expected).abs().max().item() < TOLERANCE


def test_baked_code_and_limits(stylizer: Stylizer, onnx_file: Path, tmp_path: Path) -> None:
    code = stylizer.style_code("ink", seed=5)
    baked = tmp_path / "baked.onnx"
    export_onnx(stylizer, baked, baked_code=code)
    runtime = OnnxStylizer.load(baked, threads=1)
    x = pil_to_unit(real_photo("coffee", 64))[None] * 2 - 1
    diff = runtime.stylize_tensor(x, runtime.style_code()) - stylizer.stylize_tensor(x, code)
    assert diff.abs().max().item() < TOLERANCE
    from styleforge.errors import StyleforgeError

    with pytest.raises(StyleforgeError, match="baked"):
        runtime.style_code(seed=1)
    with pytest.raises(StyleforgeError, match="seeds 0..2"):
        OnnxStylizer.load(onnx_file).style_code(seed=3)


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
