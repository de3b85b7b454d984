"""Augmentation is deterministic given its generator, and keeps shapes and ranges."""

from __future__ import annotations

import torch

from conftest import real_photo
from styleforge.data.augment import Augmenter, pil_to_uint8, resize_shorter, rotate, unit_to_pil


def test_same_seed_same_crop() -> None:
    img = pil_to_uint8(real_photo("astronaut", 80))
    aug = Augmenter(48, flip=True, rotate=10, colour_jitter=0.2)
    a = aug(img, torch.Generator().manual_seed(3))
    b = aug(img, torch.Generator().manual_seed(3))
    c = aug(img, torch.Generator().manual_seed(4))
    assert a.shape == (3, 48, 48) and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1


def test_rotation_by_zero_is_identity() -> None:
    x = torch.rand(3, 20, 20)
    assert torch.allclose(rotate(x, 0.0), x, atol=1e-5)


def test_resize_shorter_keeps_aspect() -> None:
    img = real_photo("rocket", 100)
    out = resize_shorter(img, 50)
    assert min(out.size) == 50 and abs(out.width / out.height - img.width / img.height) < 0.02
    assert unit_to_pil(torch.zeros(3, 4, 5)).size == (5, 4)
