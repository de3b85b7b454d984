"""Generator: encoder -> style-modulated residual blocks -> decoder (resize + conv, tanh out).

Upsampling is nearest-neighbour resize followed by a convolution, which avoids the checkerboard
artefacts of transposed convolutions. The encoder's feature maps are also what PatchNCE compares.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from styleforge.config import ModelConfig
from styleforge.models.layers import ModulatedNorm, conv, luminance, make_norm

TONE_HIDDEN = 32  # hidden channels of the per-pixel colour curve
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


class LocalAffine(nn.Module):
    """Affine colour transforms (a 3x3 matrix and an offset) on a coarse grid of cells,
    predicted from the style-modulated bottleneck and interpolated smoothly to every pixel, as
    HDRNet and photorealistic style transfer do. Every edge of the output is an edge of the
    input, and the adversarial gradient reaches these coefficients summed over a cell: they can
    change tone, brightness and contrast per region (a paler paper where the photo is flat), not
    draw texture. With `bins` > 1 the grid is bilateral: each cell holds one transform per band
    of input brightness and each pixel blends the two nearest its own, so a dark tower and a
    bright sky in one cell can change apart (the plain grid blends one transform over both).
    The layer starts at zero: it adds nothing at first."""

    def __init__(self, channels: int, cell: int, bins: int = 1):
        super().__init__()
        self.cell = cell  # bottleneck pixels per side of a grid cell
        self.bins = bins
        self.out = nn.Conv2d(channels, 12 * bins, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, bottleneck: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The change the transforms make to `x` (added to it)."""
        grid = self.out(F.avg_pool2d(bottleneck, self.cell, ceil_mode=True))
        size = x.shape[-2:]
        if self.bins == 1:
            coeffs = F.interpolate(grid, size=size, mode="bilinear")
        else:  # one band at a time: full-size memory for 12 coefficients, not 12 * bins
            place = (luminance(x) + 1) * (0.5 * (self.bins - 1))  # 0 .. bins-1
            coeffs = sum(
                F.interpolate(band, size=size, mode="bilinear") * F.relu(1 - (place - k).abs())
                for k, band in enumerate(grid.split(12, dim=1))
            )
        n, _, height, width = x.shape
        matrix = coeffs[:, :9].reshape(n, 3, 3, height, width)
        return torch.einsum("nijhw,njhw->nihw", matrix, x) + coeffs[:, 9:]


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
        self.tone = TonePath(cfg.style_dim) if cfg.tone_path else None
        self.local_affine = None
        if cfg.local_affine:
            self.local_affine = LocalAffine(
                chans[-1], max(1, round(cfg.local_affine / cfg.size_multiple)), cfg.affine_bins
            )
        if self.skip:  # start as the identity map: the head adds nothing at first
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        # layers PatchNCE reads: stem, each downsampling, and the first and middle blocks
        self.nce_block_ids = sorted({0, cfg.n_blocks // 2})
        self.nce_channels = chans + [chans[-1]] * len(self.nce_block_ids)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.down:
            h = layer(h)
        for block in self.blocks:
            h = block(h, style)
        if self.local_affine is not None:
            x = x + self.local_affine(h, x)
        for layer in self.up:
            h = layer(h)
        change = self.head(h)
        if self.tone is not None:
            change = change + self.tone(x, style)
        if self.skip:
            return torch.tanh(change + torch.atanh(x.clamp(-SKIP_CLAMP, SKIP_CLAMP)))
        return torch.tanh(change)

    def encode(self, x: torch.Tensor, style: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps PatchNCE compares: the stem, each downsampling and some blocks."""
        feats = [self.stem(x)]
        for layer in self.down:
            feats.append(layer(feats[-1]))
        h = feats[-1]
        for i, block in enumerate(self.blocks[: max(self.nce_block_ids) + 1]):
            h = block(h, style)
            if i in self.nce_block_ids:
                feats.append(h)
        return feats
