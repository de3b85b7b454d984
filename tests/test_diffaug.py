"""DiffAugment: same randomness for a given generator, shapes kept, gradients pass through."""

from __future__ import annotations

import torch

from styleforge.data.diffaug import diff_augment, diffaug_enabled


def test_deterministic_and_shape_preserving() -> None:
    x = torch.rand(3, 3, 32, 40) * 2 - 1
    a = diff_augment(x, torch.Generator().manual_seed(0))
    b = diff_augment(x, torch.Generator().manual_seed(0))
    c = diff_augment(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    # cutout zeroes a block in every image
    assert all(bool((img == 0).all(dim=0).any()) for img in a)


def test_gradients_reach_the_input() -> None:
    x = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
    diff_augment(x, torch.Generator().manual_seed(3)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_auto_mode_threshold() -> None:
    assert diffaug_enabled("auto", 20) and not diffaug_enabled("auto", 5000)
    assert diffaug_enabled("on", 5000) and not diffaug_enabled("off", 3)
