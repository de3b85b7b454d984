"""The FID Inception network: its weights are checked key by key, and missing ones are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import real_photo
from styleforge.cli import main
from styleforge.errors import StyleforgeError
from styleforge.evaluation.inception import FIDInceptionV3, InceptionFeatures


def test_missing_inception_weights_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(StyleforgeError, match="never downloaded"):
        InceptionFeatures(tmp_path / "nowhere.pth")
    code = main(
        ["evaluate", str(tmp_path / "m.safetensors"), "--content", str(tmp_path), "--style",
         str(tmp_path), "--inception-weights", str(tmp_path / "nowhere.pth"), "-o",
         str(tmp_path / "eval")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: --inception-weights") and err.count("\n") == 1


def test_inception_weights_load_with_every_key_checked(tmp_path: Path) -> None:
    """A state dict in the FID file's layout loads and gives 2048-d features; another network's
    weights are refused with one line (the real file cannot be shipped, so layouts are checked)."""
    torch.manual_seed(0)
    good = tmp_path / "fid_layout.pth"
    torch.save(FIDInceptionV3().state_dict(), good)
    feats = InceptionFeatures(good).pooled([np.asarray(real_photo("rocket", 64))])
    assert feats.shape == (1, 2048) and np.isfinite(feats).all()
    wrong = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, wrong)
    with pytest.raises(StyleforgeError, match="not the FID Inception weights"):
        InceptionFeatures(wrong)
