"""Generator: encoder -> style-modulated residual blocks -> decoder (resize + conv, tanh out).

Upsampling is nearest-neighbour resize followed by a convolution, which avoids the checkerboard
artefacts of transposed convolutions. The encoder's feature maps are also what PatchNCE compares.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from styleforge.config import ModelConfig
from styleforge.models.filters import guided_base
from styleforge.models.layers import ModulatedNorm, conv, luminance, make_norm
from styleforge.models.statistics_transfer import StatisticsTransfer

TONE_HIDDEN = 32  # hidden channels of the per-pixel colour curve
INK_SCALE = 4.0  # strength 1 darkens a black-white step by 2.7 (of 2); pencil's best fit
DETAIL_CELL = 16  # pixels per region of the texture gain and lines without --local-affine
SKIP_CLAMP = 0.995  # keeps atanh finite; a pixel at 255 passes through as 254


class ConvNormAct(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, norm: str):
        super().__init__(
            conv(in_ch, out_ch, kernel, stride), make_norm(norm, out_ch), nn.ReLU(True)
        )


class ModulatedResBlock(nn.Module):
    """Residual block whose two normalisations are modulated by the style code."""

    def __init__(self, channels: int, style_dim: int, norm: str, dropout: float):
        super().__init__()
        self.conv1 = conv(channels, channels, 3)
        self.norm1 = ModulatedNorm(norm, channels, style_dim)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = conv(channels, channels, 3)
        self.norm2 = ModulatedNorm(norm, channels, style_dim)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x), style))
        h = self.norm2(self.conv2(self.dropout(h)), style)
        return x + h


class Upsample(nn.Module):
    """Nearest-neighbour 2x resize, then conv-norm-ReLU."""

    def __init__(self, in_ch: int, out_ch: int, norm: str):
        super().__init__()
        self.body = ConvNormAct(in_ch, out_ch, 3, 1, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(F.interpolate(x, scale_factor=2, mode="nearest"))


def channel_plan(cfg: ModelConfig) -> list[int]:
    """Channels after the stem and after each downsampling step."""
    return [min(cfg.ngf * 2**i, cfg.max_channels) for i in range(cfg.n_down + 1)]


class TonePath(nn.Module):
    """A per-pixel curve of the input colour, conditioned on the style code: 1x1 convolutions
    only, so it can map each colour to another exactly (a grade, a paler paper) without the
    decoder's spatial blur. Its last layer starts at zero: it adds nothing at first."""

    def __init__(self, style_dim: int, hidden: int = TONE_HIDDEN):
        super().__init__()
        self.colour = nn.Conv2d(3, hidden, 1)
        self.style = nn.Linear(style_dim, hidden)
        self.out = nn.Conv2d(hidden, 3, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.colour(x) + self.style(style)[:, :, None, None]
        return self.out(F.relu(h))


def edge_lines(x: torch.Tensor) -> torch.Tensor:
    """Edge strength of the input, (N, 1, H, W): its lightly smoothed luminance gradient, scaled
    so that a line strength of 1 is pencil's best fit."""
    y = F.avg_pool2d(luminance(x), 3, 1, 1, count_include_pad=False)
    dx = F.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1))
    dy = F.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1))
    return (dx * dx + dy * dy + 1e-8).sqrt() * INK_SCALE


class RegionalControl(nn.Module):
    """Numbers per region of a coarse grid, predicted by a 1x1 convolution of the style-modulated
    bottleneck averaged over each region (the generator pools once for all its controls) and
    interpolated smoothly to every pixel. The adversarial gradient reaches each number summed
    over its region, where texture cancels and what the whole region needs adds up. The
    convolution starts at zero: no change at first."""

    def __init__(self, channels: int, maps: int = 1):
        super().__init__()
        self.out = nn.Conv2d(channels, maps, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def per_pixel(self, regions: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """The grid's numbers interpolated to `size`."""
        return F.interpolate(self.out(regions), size=size, mode="bilinear")


class LocalAffine(RegionalControl):
    """Affine colour transforms (a 3x3 matrix and an offset) on a coarse grid of cells,
    predicted from the style-modulated bottleneck and interpolated smoothly to every pixel, as
    HDRNet and photorealistic style transfer do. Every edge of the output is an edge of the
    input, and the adversarial gradient reaches these coefficients summed over a cell: they can
    change tone, brightness and contrast per region (a paler paper where the photo is flat), not
    draw texture. With `bins` > 1 the grid is bilateral: each cell holds one transform per band
    of input brightness and each pixel blends the two nearest its own, so a dark tower and a
    bright sky in one cell can change apart (the plain grid blends one transform over both).
    The layer starts at zero: it adds nothing at first."""

    def __init__(self, channels: int, bins: int = 1):
        super().__init__(channels, 12 * bins)
        self.bins = bins

    def forward(self, regions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The change the transforms make to `x` (added to it)."""
        size = x.shape[-2:]
        if self.bins == 1:
            coeffs = self.per_pixel(regions, size)
        else:  # one band at a time: full-size memory for 12 coefficients, not 12 * bins
            place = (luminance(x) + 1) * (0.5 * (self.bins - 1))  # 0 .. bins-1
            coeffs = sum(
                F.interpolate(band, size=size, mode="bilinear") * F.relu(1 - (place - k).abs())
                for k, band in enumerate(self.out(regions).split(12, dim=1))
            )
        n, _, height, width = x.shape
        matrix = coeffs[:, :9].reshape(n, 3, 3, height, width)
        return torch.einsum("nijhw,njhw->nihw", matrix, x) + coeffs[:, 9:]


class DetailGain(RegionalControl):
    """A gain on the input's texture per region of a coarse grid, predicted from the
    style-modulated bottleneck and interpolated smoothly: below 1 it flattens texture (a painted
    or cartoon look), above 1 it sharpens it. Texture is what an edge-preserving (guided) filter
    of the input removes, so outlines stay in the base and keep their strength whatever the gain.
    Like the affine transforms it cannot draw new texture, and its gradient is the adversarial
    one summed over a region: "flatter" or "crisper" is learnt in a few hundred steps where a
    decoder must learn to cancel texture pixel by pixel. Starts at zero (gain 1)."""

    def __init__(self, channels: int, radius: int):
        super().__init__(channels)
        self.radius = radius  # of the guided filter's box, in image pixels

    def forward(self, regions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The change the gain makes to `x` (added to it): (gain - 1) times the texture."""
        return self.per_pixel(regions, x.shape[-2:]) * (x - guided_base(x, self.radius))


class InkLines(RegionalControl):
    """Dark lines along the input's edges, with a strength per region of a coarse grid predicted
    from the style-modulated bottleneck: the outlines of a drawing, a cartoon or a stylized photo
    where the photo has them. The line map is the gradient of the input's lightly smoothed
    luminance, so lines follow edges and nothing else; a negative strength lightens edges
    instead. Starts at zero: no lines."""

    def forward(self, regions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The change the lines make to `x` (added to it)."""
        return -self.per_pixel(regions, x.shape[-2:]) * edge_lines(x)


class Generator(nn.Module):
    """Image-to-image generator conditioned on a style code."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        chans = channel_plan(cfg)
        self.stem = ConvNormAct(3, chans[0], 7, 1, cfg.norm)
        self.down = nn.ModuleList(
            ConvNormAct(chans[i], chans[i + 1], 3, 2, cfg.norm) for i in range(cfg.n_down)
        )
        self.blocks = nn.ModuleList(
            ModulatedResBlock(chans[-1], cfg.style_dim, cfg.norm, cfg.dropout)
            for _ in range(cfg.n_blocks)
        )
        self.up = nn.ModuleList(
            Upsample(chans[i + 1], chans[i], cfg.norm) for i in reversed(range(cfg.n_down))
        )
        self.head = conv(chans[0], 3, 7)
        self.skip = cfg.skip
        self.style_dim = cfg.style_dim
        self.statistics = StatisticsTransfer() if cfg.stats_transfer else None
        self.tone = TonePath(cfg.style_dim) if cfg.tone_path else None
        # the regional controls share one grid: --local-affine's cells, 16 pixels without it;
        # cell is in bottleneck pixels, applied in this order
        self.cell = max(1, round((cfg.local_affine or DETAIL_CELL) / cfg.size_multiple))
        # the texture gain scales the input's texture: without the identity start, nothing to scale
        detail = cfg.detail_radius and cfg.skip
        self.detail = DetailGain(chans[-1], cfg.detail_radius) if detail else None
        self.local_affine = LocalAffine(chans[-1], cfg.affine_bins) if cfg.local_affine else None
        self.ink = InkLines(chans[-1]) if cfg.ink else None
        if self.skip:  # start as the identity map: the head adds nothing at first
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        # layers PatchNCE reads: stem, each downsampling, and the first and middle blocks
        self.nce_block_ids = sorted({0, cfg.n_blocks // 2})
        self.nce_channels = chans + [chans[-1]] * len(self.nce_block_ids)

    def learnt_part(self, code: torch.Tensor) -> torch.Tensor:
        """The part of a code the networks learnt (the statistics offsets follow it)."""
        return code if self.statistics is None else code[:, : self.style_dim]

    def start_from(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """What the network changes: x through the code's statistics transfer, if it has one."""
        if self.statistics is None:
            return x
        return self.statistics(x, code[:, self.style_dim :].detach())  # fixed numbers

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.change(self.start_from(x, code), code)

    def change(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The network's part: its change to `x`, already through `start_from`."""
        style = self.learnt_part(code)
        h = self.stem(x)
        for layer in self.down:
            h = layer(h)
        for block in self.blocks:
            h = block(h, style)
        controls = [c for c in (self.detail, self.local_affine, self.ink) if c is not None]
        if controls:
            regions = F.avg_pool2d(h, self.cell, ceil_mode=True)
            for control in controls:
                x = x + control(regions, x)
        for layer in self.up:
            h = layer(h)
        change = self.head(h)
        if self.tone is not None:
            change = change + self.tone(x, style)
        if self.skip:
            return torch.tanh(change + torch.atanh(x.clamp(-SKIP_CLAMP, SKIP_CLAMP)))
        return torch.tanh(change)

    def encode(self, x: torch.Tensor, code: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps PatchNCE compares: the stem, each downsampling and some blocks."""
        style = self.learnt_part(code)
        feats = [self.stem(x)]
        for layer in self.down:
            feats.append(layer(feats[-1]))
        h = feats[-1]
        for i, block in enumerate(self.blocks[: max(self.nce_block_ids) + 1]):
            h = block(h, style)
            if i in self.nce_block_ids:
                feats.append(h)
        return feats
