"""Differentiable augmentation of everything the discriminator sees (DiffAugment, Zhao et al. 2020).

Real and generated images get the same kinds of random colour change, translation and cutout,
and gradients flow through them to the generator. With 10-200 style images this stops the
discriminator from memorising the set, which is what makes small style sets train.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# below this many images in its smallest style, `--diffaug auto` turns augmentation on
AUTO_THRESHOLD = 500


def diff_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Colour, translation (up to 1/8 of the side) and cutout (a 1/2-side hole) per image."""
    x = _colour(x, gen)
    x = _translate(x, gen, 0.125)
    return _cutout(x, gen, 0.5)


def _rand(n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=gen).to(device)


def _colour(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(n, gen, x.device) - 0.5)  # brightness (images are in [-1, 1])
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, gen, x.device) * 2) + mean  # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(n, gen, x.device) + 0.5) + mean  # contrast


def _translate(x: torch.Tensor, gen: torch.Generator, ratio: float) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio)), max(1, int(w * ratio))
    dy = torch.randint(-sh, sh + 1, (n,), generator=gen).tolist()
    dx = torch.randint(-sw, sw + 1, (n,), generator=gen).tolist()
    padded = F.pad(x, (sw, sw, sh, sh))
    return torch.stack(
        [padded[i, :, sh + dy[i] : sh + dy[i] + h, sw + dx[i] : sw + dx[i] + w] for i in range(n)]
    )


def _cutout(x: torch.Tensor, gen: torch.Generator, ratio: float) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio)), max(1, int(w * ratio))
    cy = torch.randint(0, h, (n,), generator=gen).view(n, 1, 1)
    cx = torch.randint(0, w, (n,), generator=gen).view(n, 1, 1)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    hole = ((ys - cy).abs() <= ch // 2) & ((xs - cx).abs() <= cw // 2)
    return x * (~hole).unsqueeze(1).to(x.device, x.dtype)


def diffaug_enabled(mode: str, smallest_style: int) -> bool:
    """`on`, `off`, or `auto`: on when the smallest style has fewer than AUTO_THRESHOLD images."""
    if mode == "auto":
        return smallest_style < AUTO_THRESHOLD
    return mode == "on"
