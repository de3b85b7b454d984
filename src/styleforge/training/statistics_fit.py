"""Fits the statistics transfer (models/statistics_transfer.py) on a run's decoded images.

Quantiles are pooled over the pixels of a folder's images (at most FIT_IMAGES images and
FIT_PIXELS values, so a large folder costs no more), at the load size the generator trains
on: the photos' become the curves' input knots, each style's the offsets its codes carry. A
fresh run fits once before its first step; a resumed run loads what it fitted.
"""

from __future__ import annotations

import torch

from styleforge.data.augment import uint8_to_unit
from styleforge.data.datasets import ImageSet, TrainingData
from styleforge.models.layers import luminance
from styleforge.models.statistics_transfer import COLOUR_LEVELS, ENERGY_LEVELS, texture_split
from styleforge.models.stylenet import StyleNet

COLOUR_STRENGTH = 0.5  # of the pooled colour difference: the rest may be the scenes' palettes
FIT_IMAGES = 256  # images of a folder the fit reads at most (evenly spaced through it)
FIT_PIXELS = 4_000_000  # values pooled per statistic at most (torch.quantile takes 16M)


def fit_sample(images: ImageSet) -> list[torch.Tensor]:
    """The images the fit reads, in [-1, 1]: enough for quantiles of a few knots, and bounded
    time and memory however large the folder."""
    step = max(1, -(-len(images) // FIT_IMAGES))
    return [uint8_to_unit(img)[None] for img in images.images[::step]]


@torch.no_grad()
def pooled_statistics(images: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Texture-energy quantiles (ENERGY_KNOTS) and per-channel colour quantiles (3, COLOUR_KNOTS)
    of an image set, in the networks' [-1, 1] range; each image gives the same share of at most
    FIT_PIXELS values (a fixed random subset of its pixels when it has more)."""
    sample = fit_sample(images)
    share = FIT_PIXELS // len(sample)
    gen = torch.Generator().manual_seed(0)
    energies, pixels = [], []
    for x in sample:
        energy = texture_split(luminance(x))[2].flatten()
        colour = x[0].flatten(1)
        if energy.numel() > share:
            keep = torch.randperm(energy.numel(), generator=gen)[:share]
            energy, colour = energy[keep], colour[:, keep]
        energies.append(energy)
        pixels.append(colour)
    colour = torch.cat(pixels, 1)
    return (
        torch.quantile(torch.cat(energies), ENERGY_LEVELS),
        torch.stack([torch.quantile(channel, COLOUR_LEVELS) for channel in colour]),
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
