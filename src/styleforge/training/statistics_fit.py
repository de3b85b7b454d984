"""Fits the statistics transfer (models/statistics_transfer.py) on a run's decoded images.

Quantiles are pooled over every pixel of every image of a folder, at the load size the
generator trains on: the photos' become the curves' input knots, each style's the offsets its
codes carry. A fresh run fits once before its first step; a resumed run loads what it fitted.
"""

from __future__ import annotations

import torch

from styleforge.data.augment import uint8_to_unit
from styleforge.data.datasets import ImageSet, TrainingData
from styleforge.models.statistics_transfer import COLOUR_LEVELS, ENERGY_LEVELS, texture_split
from styleforge.models.stylenet import StyleNet

COLOUR_STRENGTH = 0.5  # of the pooled colour difference: the rest may be the scenes' palettes
QUANTILE_SAMPLE = 4_000_000  # values per quantile at most (torch.quantile's limit is 16M)


def quantiles(values: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Quantiles of a large sample, from a fixed random subset when it is too large."""
    values = values.flatten().float()
    if values.numel() > QUANTILE_SAMPLE:
        pick = torch.randperm(values.numel(), generator=torch.Generator().manual_seed(0))
        values = values[pick[:QUANTILE_SAMPLE]]
    return torch.quantile(values, levels)


@torch.no_grad()
def pooled_statistics(images: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Texture-energy quantiles (ENERGY_KNOTS) and per-channel colour quantiles (3, COLOUR_KNOTS)
    of a whole image set, in the networks' [-1, 1] range."""
    energies, pixels = [], []
    for img in images.images:
        x = uint8_to_unit(img)[None]
        energies.append(texture_split(x)[2].flatten())
        pixels.append(x[0].flatten(1))
    colour = torch.cat(pixels, 1)
    return (
        quantiles(torch.cat(energies), ENERGY_LEVELS),
        torch.stack([quantiles(channel, COLOUR_LEVELS) for channel in colour]),
    )


def style_offsets(
    content: tuple[torch.Tensor, torch.Tensor], style: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """A style's code offsets (STATISTICS_PARAMETERS) from the pooled statistics of the content
    images and of its own (`pooled_statistics`): the texture curve in full, the colour curves at
    COLOUR_STRENGTH."""
    colour = COLOUR_STRENGTH * (style[1] - content[1])
    return torch.cat([style[0] - content[0], colour.flatten()])


@torch.no_grad()
def fit_statistics_transfer(data: TrainingData, *nets: StyleNet) -> None:
    """Set each net's transfer knots from the content images and its codes' offsets from each
    style's images; nothing to do when the model has no statistics transfer."""
    if nets[0].generator.statistics is None:
        return
    content = energy_in, colour_in = pooled_statistics(data.content)
    table = torch.stack([style_offsets(content, pooled_statistics(s)) for s in data.styles])
    for net in nets:
        net.generator.statistics.energy_in.copy_(energy_in)
        net.generator.statistics.colour_in.copy_(colour_in)
        net.mapping.offsets.table.copy_(table)
        net.encoder.offsets.table.copy_(table)
