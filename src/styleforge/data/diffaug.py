"""Differentiable augmentation of everything the discriminator sees (DiffAugment, Zhao et al. 2020).

Real and generated images get the same kinds of random colour change, translation and cutout,
and gradients flow through them to the generator. With 10-200 style images this stops the
discriminator from memorising the set, which is what makes small style sets train.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from styleforge.config import DIFFAUG_PARTS

# below this many images in its smallest style, `--diffaug auto` turns augmentation on
AUTO_THRESHOLD = 500


def diff_augment(
    x: torch.Tensor,
    gen: torch.Generator,
    part: tuple[int, int] | None = None,
    policy: frozenset[str] = frozenset(DIFFAUG_PARTS),
) -> torch.Tensor:
    """Colour, translation (up to 1/8 of the side) and cutout (a 1/2-side hole) per image, or
    the parts of them that `policy` names.

    Every draw is made whatever the policy, so a policy changes what is applied, not the
    random stream that follows.

    `part` = (first, total): `x` holds rows first..first+len(x) of a batch of `total` images
    (one rank's share under distributed training). Parameters are drawn for all `total` images
    and this share's rows are used, so the result does not depend on how the batch is split.
    """
    n, _, h, w = x.shape
    first, total = part if part is not None else (0, n)
    if not 0 <= first <= total - n:
        raise ValueError(f"rows {first}..{first + n} are not inside a batch of {total}")
    rows = slice(first, first + n)
    # every draw is for the whole batch, in a fixed order: brightness, saturation, contrast,
    # translation (y, x), cutout centre (y, x)
    colour = [torch.rand(total, 1, 1, 1, generator=gen)[rows].to(x.device) for _ in range(3)]
    sh, sw = max(1, int(h * 0.125)), max(1, int(w * 0.125))
    dy = torch.randint(-sh, sh + 1, (total,), generator=gen)[rows].tolist()
    dx = torch.randint(-sw, sw + 1, (total,), generator=gen)[rows].tolist()
    cy = torch.randint(0, h, (total,), generator=gen)[rows]
    cx = torch.randint(0, w, (total,), generator=gen)[rows]
    if "colour" in policy:
        x = _colour(x, *colour)
    if "translation" in policy:
        x = _translate(x, dy, dx, sh, sw)
    if "cutout" in policy:
        x = _cutout(x, cy, cx, 0.5)
    return x


def _colour(
    x: torch.Tensor, brightness: torch.Tensor, saturation: torch.Tensor, contrast: torch.Tensor
) -> torch.Tensor:
    x = x + (brightness - 0.5)  # images are in [-1, 1]
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (saturation * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (contrast + 0.5) + mean


def _translate(x: torch.Tensor, dy: list[int], dx: list[int], sh: int, sw: int) -> torch.Tensor:
    _, _, h, w = x.shape
    padded = F.pad(x, (sw, sw, sh, sh))
    return torch.stack(
        [
            padded[i, :, sh + dy[i] : sh + dy[i] + h, sw + dx[i] : sw + dx[i] + w]
            for i in range(x.shape[0])
        ]
    )


def _cutout(x: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, ratio: float) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio)), max(1, int(w * ratio))
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    hole = ((ys - cy.view(n, 1, 1)).abs() <= ch // 2) & ((xs - cx.view(n, 1, 1)).abs() <= cw // 2)
    return x * (~hole).unsqueeze(1).to(x.device, x.dtype)


def diffaug_enabled(mode: str, smallest_style: int) -> bool:
    """`on`, `off`, or `auto`: on when the smallest style has fewer than AUTO_THRESHOLD images."""
    if mode == "auto":
        return smallest_style < AUTO_THRESHOLD
    return mode == "on"
