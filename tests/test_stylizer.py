"""The Stylizer: sizes kept, every input type, styles and seeds that change the output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import real_photo
from styleforge.errors import StyleforgeError
from styleforge.inference.stylizer import Stylizer, open_stylizer


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


def test_an_onnx_model_on_another_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime runs here on the CPU: asking for a GPU is an error, not a silent CPU run."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(StyleforgeError, match="onnxruntime's CPU"):
        open_stylizer("toon.onnx", device="cuda")
