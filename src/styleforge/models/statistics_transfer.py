"""The statistics transfer: a fixed per-pixel map from the photos' statistics to a style's,
which the generator starts from instead of the untouched input.

Two unpaired folders differ by their style and by their scenes. A discriminator trained on a
few dozen images learns both at once, and in the few hundred steps a CPU gives in ten minutes
the generator barely moves (docs/research-log.md). Statistics pooled over every pixel of every
image are much less tied to the scenes, and two of them carry a large part of most looks:

- **texture**: a gain on the input's fine texture (what a guided filter removes, so edges stay
  in the base) as a function of its local energy, mapping the photos' quantiles of that energy
  onto the style images'. Edge-preserving smoothing, paint and cartoon flatten small texture and
  keep edges: the map gives gains below 1 where energy is low and about 1 where it is high.
- **colour**: one curve per RGB channel through five quantiles of the photos' values mapped onto
  the style images', luminance restored afterwards (tone stays with the texture map and the
  generator), applied at half strength: the folders' palettes differ by scene as well as by
  style, and half the pooled difference is the safer guess (measured in docs/research-log.md).

The maps' knots are fitted once before training (`styleforge.training.statistics_fit`): the
photos' quantiles are buffers of this module, each style's offsets from them ride at the end of
its style codes (`StyleOffsets`), so a code mixed from two styles mixes their curves, the zero
code is the identity, and an ONNX file with a code input keeps working.
Everything is elementwise or a box filter: any image size, tile-safe, exportable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from styleforge.config import COLOUR_KNOTS, ENERGY_KNOTS
from styleforge.models.filters import box_mean, guided_base
from styleforge.models.layers import luminance

ENERGY_LEVELS = torch.linspace(0.01, 0.99, ENERGY_KNOTS)  # quantiles the gain curve matches
COLOUR_LEVELS = torch.linspace(0.005, 0.995, COLOUR_KNOTS)  # and each colour curve
TEXTURE_RADIUS = 4  # guided filter splitting texture from base, pixels at the load size
TEXTURE_EPS = 0.004  # its flatness threshold, in [-1, 1] units (1e-3 in [0, 1] units)
ENERGY_RADIUS = 3  # box over which texture energy is measured
MAX_GAIN = 3.0
ENERGY_FLOOR = 1e-4


def texture_split(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Base, texture and texture energy of luminance maps (N, 1, H, W) in [-1, 1]."""
    base = guided_base(y, TEXTURE_RADIUS, TEXTURE_EPS)
    texture = y - base
    power = box_mean(texture * texture, ENERGY_RADIUS).clamp_min(0.0)  # ONNX: can round below 0
    energy = power.sqrt().clamp_min(ENERGY_FLOOR)
    return base, texture, energy


def through_knots(x: torch.Tensor, knots_in: torch.Tensor, knots_out: torch.Tensor) -> torch.Tensor:
    """The piecewise-linear curve through (knots_in[c, k], knots_out[n, c, k]), extended along
    its end segments; x is (N, C, H, W), knots_in (C, K) increasing, knots_out (N, C, K).
    Written as a sum of ramps (no searchsorted), so it exports to ONNX."""
    n, c = knots_out.shape[:2]
    step_in = (knots_in[:, 1:] - knots_in[:, :-1]).clamp_min(1e-6)
    slopes = (knots_out[..., 1:] - knots_out[..., :-1]) / step_in  # (N, C, K-1)

    def at(t: torch.Tensor) -> torch.Tensor:  # (N or 1, C) -> broadcast over pixels
        return t.reshape(-1, c, 1, 1)

    out = at(knots_out[..., 0]) + at(slopes[..., 0]) * (x - at(knots_in[:, 0]))
    for k in range(1, slopes.shape[-1]):
        bend = at(slopes[..., k] - slopes[..., k - 1])
        out = out + bend * F.relu(x - at(knots_in[:, k]))
    return out


class StatisticsTransfer(nn.Module):
    """Texture gain and chroma curves of one style, given by its offsets in the code."""

    def __init__(self) -> None:
        super().__init__()
        # the photos' quantiles; set by the fit (until then every curve is the identity)
        self.register_buffer("energy_in", torch.linspace(0.01, 1, ENERGY_KNOTS))
        self.register_buffer("colour_in", torch.linspace(-1, 1, COLOUR_KNOTS).repeat(3, 1))

    def forward(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) in [-1, 1], offsets (N, STATISTICS_PARAMETERS): the style's x."""
        n = x.shape[0]
        energy_out = self.energy_in + offsets[:, :ENERGY_KNOTS]
        colour_out = self.colour_in + offsets[:, ENERGY_KNOTS:].view(n, 3, COLOUR_KNOTS)
        y = luminance(x)
        base, texture, energy = texture_split(y)
        # through (0, 0) first: no texture stays no texture
        zero = energy.new_zeros(1)
        knots_in = torch.cat([zero, self.energy_in])[None]
        knots_out = torch.cat([zero.expand(n, 1), energy_out], 1)[:, None]
        mapped = through_knots(energy, knots_in, knots_out.clamp_min(0))
        gain = (mapped / energy).clamp(0.0, MAX_GAIN)
        coloured = through_knots(x, self.colour_in, colour_out)
        coloured = coloured + (y - luminance(coloured))  # chroma only
        return (coloured + (gain - 1) * texture).clamp(-1.0, 1.0)
