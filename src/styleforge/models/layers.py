"""Small building blocks shared by the networks: normalisation and style modulation."""

from __future__ import annotations

import torch
from torch import nn


def make_norm(kind: str, channels: int, affine: bool = True) -> nn.Module:
    """`instance`, `batch` or `none` normalisation for `channels` feature maps."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=affine)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=affine)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


class ModulatedNorm(nn.Module):
    """Normalise, then scale and shift by a style code (AdaIN when the norm is instance norm)."""

    def __init__(self, kind: str, channels: int, style_dim: int):
        super().__init__()
        self.norm = make_norm(kind, channels, affine=False)
        # gamma is used as 1 + gamma; the default (non-zero) initialisation lets the style code
        # act from the first step: zero-initialised, it stayed near zero for hundreds of steps
        self.affine = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(style).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return self.norm(x) * (1 + gamma) + beta


def conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """A convolution with reflection padding that keeps the size (at stride 1)."""
    return nn.Conv2d(
        in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect"
    )


LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G, B


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): the brightness people see, without the colour."""
    return (x * x.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
