"""Edge-aware filters the generator's controls and the statistics transfer split images with."""

from __future__ import annotations

import torch
import torch.nn.functional as F

GUIDED_EPS = 0.04  # guided filter: variance (in [-1, 1] units) below which a box counts as flat


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2r+1)-square around each pixel (fewer pixels at the border)."""
    return F.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)


def guided_base(x: torch.Tensor, radius: int, eps: float = GUIDED_EPS) -> torch.Tensor:
    """Each channel guided by itself (He et al.'s guided filter): flat where a (2r+1)-square box
    varies little next to `eps`, the input itself across strong edges. What it removes is
    texture."""
    mean = box_mean(x, radius)
    var = (box_mean(x * x, radius) - mean * mean).clamp_min(0)
    keep = var / (var + eps)
    return box_mean(keep, radius) * x + box_mean((1 - keep) * mean, radius)
