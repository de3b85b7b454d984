"""EMA: the warm-up decay's closed form, and buffers copied rather than averaged."""

from __future__ import annotations

import torch
from torch import nn

from styleforge.training.ema import EMA


def test_ema_after_k_updates_is_the_closed_form() -> None:
    """avg_k = d_k avg_(k-1) + (1 - d_k) w_k with d_k = min(beta, (1+k)/(10+k)), in float64."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(5, 2))
    ema = EMA(model, beta=0.9)
    expected = [p.detach().double().clone() for p in model.parameters()]
    for step in range(1, 41):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.rand_like(p))
        ema.update(model, step)
        decay = min(0.9, (1 + step) / (10 + step))
        expected = [
            decay * e + (1 - decay) * p.detach().double()
            for e, p in zip(expected, model.parameters(), strict=True)
        ]
    for avg, want in zip(ema.model.parameters(), expected, strict=True):
        torch.testing.assert_close(avg.double(), want, rtol=0, atol=1e-6)


def test_buffers_are_copied_not_averaged() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ema = EMA(model)
    model.train()
    model(torch.randn(2, 3, 8, 8))  # moves the running statistics and the batch counter
    ema.update(model, step=5)
    for avg, new in zip(ema.model.buffers(), model.buffers(), strict=True):
        assert torch.equal(avg, new)
    assert int(ema.model[1].num_batches_tracked) == 1
