"""The structure term sees shapes, not colour or contrast, and trains the output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import real_photo, tiny_config
from styleforge.config import OptimConfig
from styleforge.training.structure import StructureTerm
from styleforge.training.trainer import Trainer


def _photo_tensor(name: str = "chelsea", size: int = 64) -> torch.Tensor:
    arr = np.asarray(real_photo(name, size))[:size, :size]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_structure_term_is_zero_for_the_input_and_trains_the_output() -> None:
    term = StructureTerm(OptimConfig(lambda_feat=1.0), torch.device("cpu"))
    x = _photo_tensor()
    assert float(term(x, x)["feat"]) == pytest.approx(0.0, abs=1e-6)
    other = _photo_tensor("coffee").requires_grad_(True)
    loss = term(x, other)["feat"]
    loss.backward()
    assert float(loss.detach()) > 0.1
    assert other.grad is not None and float(other.grad.abs().sum()) > 0
    # the frozen feature network is not trained
    assert all(not p.requires_grad for p in term.features.net.parameters())


def test_structure_term_is_off_at_weight_zero() -> None:
    term = StructureTerm(OptimConfig(lambda_feat=0.0), torch.device("cpu"))
    assert term.features is None and term(_photo_tensor(), _photo_tensor("coffee")) == {}


def test_structure_term_leaves_colour_and_contrast_free_and_sees_shapes_move() -> None:
    term = StructureTerm(OptimConfig(lambda_feat=1.0), torch.device("cpu"))
    x = _photo_tensor()
    graded = (x * 1.3 + torch.tensor([0.15, 0.0, -0.15]).view(1, 3, 1, 1)).clamp(-1, 1)
    moved = torch.roll(x, (4, 4), (2, 3))  # the same picture, its shapes 4 pixels away
    # measured: 0.05 for the grade, 1.05 for the move (1.57 for another photo)
    assert float(term.distance(x, graded)) < 0.2 * float(term.distance(x, moved))


def test_training_with_the_structure_term_logs_it(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=2)
    config.optim.lambda_feat = 0.5
    Trainer(config, tmp_path / "run").run()
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows and rows[-1]["loss/feat"] > 0
