"""ONNX backend: onnxruntime matches PyTorch (fp32, max abs < 1e-3) at two sizes; baked codes and
the seeds an exported file holds are its limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import real_photo
from styleforge.data.augment import pil_to_unit
from styleforge.inference.export import export_onnx
from styleforge.inference.onnx_backend import OnnxStylizer
from styleforge.inference.stylizer import Stylizer

pytestmark = pytest.mark.slow  # end to end (training, export, processes): not in `make test-fast`

TOLERANCE = 1e-3


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
