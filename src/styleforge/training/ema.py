"""Exponential moving average of the shipped network's weights.

The decay ramps up as min(beta, (1 + step) / (10 + step)), so a run of a few hundred steps is
not dominated by the random initial weights (with a fixed 0.999, 60% of the average would still
be the initialisation after 500 steps).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, beta: float = 0.999):
        self.beta = beta
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def decay(self, step: int) -> float:
        return min(self.beta, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        averaged, params = list(self.model.parameters()), list(model.parameters())
        if len(averaged) != len(params):
            raise ValueError(f"EMA of {len(averaged)} parameters updated from {len(params)}")
        torch._foreach_lerp_(averaged, params, 1 - self.decay(step))  # one call, not 76
        # buffers (batch-norm statistics, the statistics transfer's knots) are copied, not
        # averaged: they are statistics of the current weights, or not trained at all
        for avg, new in zip(self.model.buffers(), model.buffers(), strict=True):
            avg.copy_(new)
