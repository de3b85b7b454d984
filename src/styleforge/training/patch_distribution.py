"""Patch-texture matching: a sliced Wasserstein distance between small patches of the outputs
and of the real style images, at a few scales, blind to each patch's mean colour.

Why: an unpaired style is a distribution of local looks (paper tone, stroke, palette, edge
darkness). A discriminator must first learn to tell them apart, which takes hundreds of steps
on a CPU; comparing the sorted random projections of patches (as GPDM and texture-synthesis
work do with raw pixels) gives a dense, low-variance gradient towards the style's patch
distribution from the first step. Projections are fresh each step, drawn from the step's
generator, so resumed and distributed runs draw the same ones.

Each direction sums to zero over the patch in every channel: it sees local contrast, edges and
texture, not the patch's colour. Measured on the quality benchmark's sets, raw-colour patches
of a few images differ more between photo sets than between a photo and its stylised self (the
palette of the scene dominates); mean-free patches rank the stylised photos closer to the
style set on four of the five styles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PATCH = 5  # patch side in pixels at each scale
SCALES = (1, 2, 4)  # average-pooling factors: 5-, 10- and 20-pixel neighbourhoods
PROJECTIONS = 32  # random directions per scale
SAMPLES = 4096  # patches drawn per image batch and scale: quantiles to well under 1 %


def _sorted_projections(
    x: torch.Tensor, directions: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """(SAMPLES, P): each direction's projections of patches at random places in x, sorted."""
    patches = F.unfold(x, PATCH).transpose(1, 2).flatten(0, 1)  # (B * places, C * PATCH**2)
    where = torch.randint(patches.shape[0], (SAMPLES,), generator=gen).to(x.device)
    return (patches[where] @ directions.t()).sort(dim=0).values


def sliced_patch_distance(
    fake: torch.Tensor, real: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Mean over scales and directions of the 1-D Wasserstein-1 distance between the patch
    projections of `fake` and `real` (the real side carries no gradient)."""
    total = fake.new_zeros((), dtype=torch.float32)
    channels = fake.shape[1]
    for scale in SCALES:
        f = F.avg_pool2d(fake.float(), scale) if scale > 1 else fake.float()
        r = F.avg_pool2d(real.float(), scale) if scale > 1 else real.float()
        directions = torch.randn(PROJECTIONS, channels, PATCH * PATCH, generator=gen)
        directions = directions - directions.mean(dim=2, keepdim=True)  # blind to patch colour
        directions = (directions.flatten(1) / directions.flatten(1).norm(dim=1, keepdim=True)).to(
            fake.device
        )
        have = _sorted_projections(f, directions, gen)
        with torch.no_grad():
            want = _sorted_projections(r, directions, gen)
        total = total + (have - want).abs().mean()
    return total / len(SCALES)


def patch_distribution_loss(
    fake: torch.Tensor, style: torch.Tensor, labels: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """The distance per style present in the batch (outputs made for real images of the same
    style, row by row), averaged over those styles."""
    present = labels.unique().tolist()
    total = fake.new_zeros((), dtype=torch.float32)
    for label in present:
        pick = labels == label
        total = total + sliced_patch_distance(fake[pick], style[pick], gen)
    return total / len(present)
