"""The backends' shared parts: padding to the network's size multiple and back."""

from __future__ import annotations

import torch

from styleforge.inference.backend import pad_to_multiple


def test_padding_restores_size() -> None:
    x = torch.rand(1, 3, 37, 21)
    padded, size = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (40, 24) and size == (37, 21)
    assert torch.equal(padded[..., :37, :21], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 3, 1, 1), 4)
    assert tiny.shape[-2:] == (16, 16)
