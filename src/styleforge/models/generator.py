"""Generator: encoder -> style-modulated residual blocks -> decoder (resize + conv, tanh out).

Upsampling is nearest-neighbour resize followed by a convolution, which avoids the checkerboard
artefacts of transposed convolutions. The encoder's feature maps are also what PatchNCE compares.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from styleforge.config import STATISTICS_PARAMETERS, ModelConfig
from styleforge.models.filters import guided_base, joint_guided
from styleforge.models.flow import Flow, Step, on_features, run_steps
from styleforge.models.layers import ModulatedNorm, conv, luminance, make_norm
from styleforge.models.statistics_transfer import StatisticsTransfer

DETAIL_CELL = 16  # pixels per region of the texture gain without --local-affine
SKIP_CLAMP = 0.995  # keeps atanh finite; a pixel at 255 passes through as 254
OUTPUT_FILTER_RADIUS = 1  # the output filter's box, in image pixels
OUTPUT_FILTER_EPS = 0.02  # and the photo's variance (in [-1, 1] units) below which it flattens


class ConvNormAct(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, norm: str):
        super().__init__(
            conv(in_ch, out_ch, kernel, stride), make_norm(norm, out_ch), nn.ReLU(True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(self[0](x))

    def finish(self, h: torch.Tensor) -> torch.Tensor:
        """Normalise the convolution's output, then the activation."""
        return self[2](self[1](h))

    def steps(self) -> list[Step]:
        """The layer cut at its normalisation's input (`flow`)."""
        return [Step(on_features(self[0])), Step(on_features(self.finish), self[1])]


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
        return self.leave(x, self.middle(self.conv1(x), style), style)

    def middle(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """From the first convolution's output to the second's."""
        return self.conv2(self.dropout(F.relu(self.norm1(h, style))))

    def leave(self, x: torch.Tensor, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The block's input plus its normalised second convolution."""
        return x + self.norm2(h, style)

    def steps(self) -> list[Step]:
        """The block cut at both normalisations' inputs; the flow holds its input meanwhile."""
        return [
            Step(self._enter),
            Step(self._middle, self.norm1.norm),
            Step(self._leave, self.norm2.norm),
        ]

    def _enter(self, flow: Flow) -> None:
        flow.skip, flow.h = flow.h, self.conv1(flow.h)

    def _middle(self, flow: Flow) -> None:
        flow.h = self.middle(flow.h, flow.style)

    def _leave(self, flow: Flow) -> None:
        flow.h, flow.skip = self.leave(flow.skip, flow.h, flow.style), None


class Upsample(nn.Module):
    """Nearest-neighbour 2x resize, then conv-norm-ReLU."""

    def __init__(self, in_ch: int, out_ch: int, norm: str):
        super().__init__()
        self.body = ConvNormAct(in_ch, out_ch, 3, 1, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body.finish(self.convolve(x))

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        """Resize, then the convolution (up to the normalisation's input)."""
        return self.body[0](F.interpolate(x, scale_factor=2, mode="nearest"))

    def steps(self) -> list[Step]:
        """The layer cut at its normalisation's input (`flow`)."""
        return [Step(on_features(self.convolve)), Step(on_features(self.body.finish), self.body[1])]


def channel_plan(cfg: ModelConfig) -> list[int]:
    """Channels after the stem and after each downsampling step."""
    return [min(cfg.ngf * 2**i, cfg.max_channels) for i in range(cfg.n_down + 1)]


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
    draw texture. The layer starts at zero: it adds nothing at first."""

    def __init__(self, channels: int):
        super().__init__(channels, 12)

    def forward(self, regions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The change the transforms make to `x` (added to it)."""
        coeffs = self.per_pixel(regions, x.shape[-2:])
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
        self.output_filter = cfg.output_filter  # the code's last number weighs it
        # the regional controls share one grid: --local-affine's cells, 16 pixels without it;
        # cell is in bottleneck pixels, applied in this order
        self.cell = max(1, round((cfg.local_affine or DETAIL_CELL) / cfg.size_multiple))
        # the texture gain scales the input's texture: without the identity start, nothing to scale
        detail = cfg.detail_radius and cfg.skip
        self.detail = DetailGain(chans[-1], cfg.detail_radius) if detail else None
        self.local_affine = LocalAffine(chans[-1]) if cfg.local_affine else None
        if self.skip:  # start as the identity map: the head adds nothing at first
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        # layers PatchNCE reads: stem, each downsampling, and the first and middle blocks
        self.nce_block_ids = sorted({0, cfg.n_blocks // 2})
        self.nce_channels = chans + [chans[-1]] * len(self.nce_block_ids)

    def learnt_part(self, code: torch.Tensor) -> torch.Tensor:
        """The part of a code the networks learnt (the fixed numbers follow it)."""
        return code[:, : self.style_dim]

    def start_from(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """What the network changes: x through the code's statistics transfer, if it has one."""
        if self.statistics is None:
            return x
        offsets = code[:, self.style_dim : self.style_dim + STATISTICS_PARAMETERS]
        return self.statistics(x, offsets.detach())  # fixed numbers

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return run_steps(self.steps(), self.flow(x, code)).h

    def flow(self, x: torch.Tensor, code: torch.Tensor) -> Flow:
        """The state `steps` start from, for photos `x` and their codes."""
        return Flow(x, code, self.learnt_part(code))

    def steps(self) -> list[Step]:
        """The forward pass as steps (`flow`): the statistics transfer's start, the network's
        change, the output filter. Tiled inference stops at each step with a `norm`."""
        return [Step(self._start), *self.change_steps(), Step(self._filter)]

    def _start(self, flow: Flow) -> None:
        flow.x = flow.h = self.start_from(flow.photo, flow.code)

    def _filter(self, flow: Flow) -> None:
        if not self.output_filter:
            return
        out = flow.h
        weight = flow.code[:, -1:].detach().view(-1, 1, 1, 1)  # fixed: 0 while training
        traced = torch.compiler.is_compiling() or weight.is_meta  # a graph keeps the filter
        if not traced and not weight.any():
            return  # no code of this batch filters: skip its cost
        flow.h = out + weight * (self.filter_output(out, flow.photo) - out)

    def filter_output(self, out: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
        """The output filter: `out` as a local linear function of the photo's luminance (a
        guided filter led by the photo), which keeps the decoder's colour and outlines where
        the photo has edges and removes the blotches and strokes it draws where the photo is
        flat. Whether a style wants that is chosen after training (`training.output_filter`)."""
        guide = luminance(photo)
        return joint_guided(out, guide, OUTPUT_FILTER_RADIUS, OUTPUT_FILTER_EPS).clamp(-1, 1)

    def change(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The network's part: its change to `x`, already through `start_from`."""
        return run_steps(self.change_steps(), self.flow(x, code)).h

    def change_steps(self) -> list[Step]:
        """Encoder, residual blocks, regional controls, decoder and head, as steps."""
        steps = []
        for layer in (self.stem, *self.down, *self.blocks):
            steps += layer.steps()
        steps.append(Step(self._controls))
        for layer in self.up:
            steps += layer.steps()
        return [*steps, Step(self._head)]

    def _controls(self, flow: Flow) -> None:
        controls = [c for c in (self.detail, self.local_affine) if c is not None]
        if controls:
            regions = F.avg_pool2d(flow.h, self.cell, ceil_mode=True)
            for control in controls:
                flow.x = flow.x + control(regions, flow.x)

    def _head(self, flow: Flow) -> None:
        change = self.head(flow.h)
        if self.skip:
            flow.h = torch.tanh(change + torch.atanh(flow.x.clamp(-SKIP_CLAMP, SKIP_CLAMP)))
        else:
            flow.h = torch.tanh(change)

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
