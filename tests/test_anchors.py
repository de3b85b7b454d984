"""Content anchors: the colour term sees block colours, the structure term sees shapes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import real_photo, tiny_config
from styleforge.config import OptimConfig
from styleforge.training.anchors import ContentAnchors
from styleforge.training.trainer import Trainer


def _photo_tensor(name: str = "chelsea", size: int = 64) -> torch.Tensor:
    arr = np.asarray(real_photo(name, size))[:size, :size]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_colour_term_ignores_changes_inside_a_block_and_sees_colour_shifts() -> None:
    optim = OptimConfig(lambda_color=1.0, color_pool=8, luma_pool=0, color_anchor="absolute")
    anchors = ContentAnchors(optim, torch.device("cpu"))
    x = _photo_tensor()
    assert float(anchors(x, x)["color"]) == 0.0
    # +-0.2 alternating by pixel: zero mean over each 8x8 block (an edge drawn darker and lighter)
    checker = (torch.arange(64).view(1, 64) + torch.arange(64).view(64, 1)) % 2 * 0.4 - 0.2
    assert float(anchors(x, x + checker)["color"]) == pytest.approx(0.0, abs=1e-6)
    warm = x + torch.tensor([0.2, 0.0, -0.2]).view(1, 3, 1, 1)
    assert float(anchors(x, warm)["color"]) == pytest.approx(0.4 / 3, rel=1e-3)


def test_feature_term_is_zero_for_the_input_and_trains_the_output() -> None:
    anchors = ContentAnchors(OptimConfig(lambda_feat=1.0, lambda_color=0.0), torch.device("cpu"))
    assert "color" not in anchors(_photo_tensor(), _photo_tensor())
    x = _photo_tensor()
    assert float(anchors(x, x)["feat"]) == pytest.approx(0.0, abs=1e-6)
    other = _photo_tensor("coffee").requires_grad_(True)
    loss = anchors(x, other)["feat"]
    loss.backward()
    assert float(loss.detach()) > 0.1
    assert other.grad is not None and float(other.grad.abs().sum()) > 0
    # the frozen feature network is not trained
    assert all(not p.requires_grad for p in anchors.features.net.parameters())


def test_structure_term_leaves_colour_and_contrast_free_and_sees_shapes_move() -> None:
    anchors = ContentAnchors(OptimConfig(lambda_feat=1.0, lambda_color=0.0), torch.device("cpu"))
    x = _photo_tensor()
    graded = (x * 1.3 + torch.tensor([0.15, 0.0, -0.15]).view(1, 3, 1, 1)).clamp(-1, 1)
    moved = torch.roll(x, (4, 4), (2, 3))  # the same picture, its shapes 4 pixels away
    # measured: 0.05 for the grade, 1.05 for the move (1.57 for another photo)
    assert float(anchors.structure_distance(x, graded)) < 0.2 * float(
        anchors.structure_distance(x, moved)
    )


def test_training_with_both_anchors_logs_them(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=2)
    config.optim.lambda_color, config.optim.lambda_feat, config.optim.color_pool = 5.0, 0.5, 4
    Trainer(config, tmp_path / "run").run()
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows and rows[-1]["loss/color"] > 0 and rows[-1]["loss/feat"] > 0


def test_luma_pool_frees_compensated_luminance_but_not_colour_fringes() -> None:
    cpu = torch.device("cpu")
    absolute = dict(lambda_color=1.0, color_pool=4, color_anchor="absolute")
    rgb = ContentAnchors(OptimConfig(**absolute, luma_pool=0), cpu)
    split = ContentAnchors(OptimConfig(**absolute, luma_pool=32), cpu)
    x = _photo_tensor()
    # a dark line with a light one 8 pixels away: zero net luminance over a 32-pixel block
    ink = x.clone()
    ink[..., 8:10, :] -= 0.3
    ink[..., 16:18, :] += 0.3
    assert float(rgb(x, ink)["color"]) > 0.01
    assert float(split(x, ink)["color"]) == pytest.approx(0.0, abs=1e-6)
    # a red fringe of unchanged luminance: the chroma blocks still see it
    fringe = x.clone()
    fringe[:, 0, 8:10, :] += 0.3
    fringe[:, 1:, 8:10, :] -= 0.3 * 0.299 / (0.587 + 0.114)
    assert float(split(x, fringe)["color"]) > 0.5 * float(rgb(x, fringe)["color"]) > 0


def test_relative_colour_anchor_frees_a_global_shift_but_keeps_the_layout() -> None:
    optim = OptimConfig(lambda_color=1.0, color_pool=8, luma_pool=0, color_anchor="relative")
    anchors = ContentAnchors(optim, torch.device("cpu"))
    x = _photo_tensor()
    warm = x + torch.tensor([0.2, 0.0, -0.2]).view(1, 3, 1, 1)
    assert float(anchors(x, warm)["color"]) == pytest.approx(0.0, abs=1e-6)
    moved = torch.roll(x, shifts=16, dims=3)  # same colours, different places
    assert float(anchors(x, moved)["color"]) > 0.05


def test_colour_weight_schedule_moves_linearly_to_its_end_value() -> None:
    x = _photo_tensor()
    moved = torch.roll(x, shifts=16, dims=3)
    fixed = ContentAnchors(OptimConfig(lambda_color=40.0), torch.device("cpu"))
    scheduled = ContentAnchors(
        OptimConfig(lambda_color=40.0, lambda_color_end=10.0), torch.device("cpu")
    )
    assert [scheduled.colour_weight(p) for p in (0.0, 0.5, 1.0)] == [40.0, 25.0, 10.0]
    assert fixed.colour_weight(1.0) == 40.0
    start, end = float(fixed(x, moved)["color"]), float(scheduled(x, moved, 1.0)["color"])
    assert end == pytest.approx(start / 4, rel=1e-5) and end > 0


def test_blocks_shrink_with_progressive_resolution() -> None:
    """On images shrunk 2x the anchor is the full-size one: box averages compose exactly."""
    anchors = ContentAnchors(OptimConfig(lambda_color=1.0), torch.device("cpu"))  # 8 / 32 px
    x, y = _photo_tensor(), _photo_tensor("coffee")
    full = float(anchors(x, y)["color"])
    half = float(anchors(F.avg_pool2d(x, 2), F.avg_pool2d(y, 2), shrink=2)["color"])
    assert full > 0.05 and half == pytest.approx(full, rel=1e-5)


def test_style_statistics_pull_outputs_towards_the_style_images_texture() -> None:
    from styleforge.training.style_stats import StyleStatistics

    stats = StyleStatistics(1.0, torch.device("cpu"))
    labels = torch.zeros(1, dtype=torch.long)
    style = _photo_tensor("chelsea")
    assert float(stats(style, style, labels)) == pytest.approx(0.0, abs=1e-6)
    flat = torch.zeros_like(style).requires_grad_(True)  # no texture at all
    loss = stats(flat, style, labels)
    assert float(loss.detach()) > 0.05
    loss.backward()
    assert float(flat.grad.abs().sum()) > 0
    # the running target survives a save and load (resume continues it exactly)
    again = StyleStatistics(1.0, torch.device("cpu"))
    again.load_state(json.loads(json.dumps(stats.state())), torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(again.targets[0], stats.targets[0], strict=True))


def test_patch_texture_distance_ignores_colour_and_pulls_texture_towards_the_style() -> None:
    from styleforge.training.patch_distribution import (
        patch_distribution_loss,
        sliced_patch_distance,
    )

    def draw(seed: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    photo, other = _photo_tensor("chelsea"), _photo_tensor("coffee")
    itself = float(sliced_patch_distance(photo, photo, draw()))  # two samples of its patches
    assert float(sliced_patch_distance(other, photo, draw())) > 3 * itself
    # blind to a colour shift (each direction sums to zero per channel), not to texture
    warm = photo + torch.tensor([0.3, 0.0, -0.3]).view(1, 3, 1, 1)
    assert float(sliced_patch_distance(warm, photo, draw())) == pytest.approx(itself, abs=1e-5)
    # a few gradient steps from a blurred photo towards a sharp one bring back local contrast
    blurred = torch.nn.functional.avg_pool2d(photo, 5, stride=1, padding=2)
    start = float(sliced_patch_distance(blurred, photo, draw()))
    x = blurred.clone().requires_grad_(True)
    adam = torch.optim.Adam([x], lr=0.01)
    for step in range(60):
        adam.zero_grad()
        labels = torch.zeros(1, dtype=torch.long)
        patch_distribution_loss(x, photo, labels, draw(step)).backward()
        adam.step()
    assert float(sliced_patch_distance(x.detach(), photo, draw())) < 0.5 * start
    detail = float((x.detach() - torch.nn.functional.avg_pool2d(x.detach(), 3, 1, 1)).std())
    assert detail > 1.5 * float((blurred - torch.nn.functional.avg_pool2d(blurred, 3, 1, 1)).std())


def test_training_with_the_patch_term_logs_it(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=2)
    config.optim.lambda_patch = 2.0
    Trainer(config, tmp_path / "run").run()
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows and rows[-1]["loss/patch"] > 0
