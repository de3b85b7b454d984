"""Tiled inference for large images: bounded memory, no visible seams, the untiled result.

Two things make tiles of a fully convolutional, instance-normalised generator disagree at their
borders: missing context near a tile's edge, and each tile normalising with its own statistics.
The first is handled by overlapping tiles whose outputs are cross-faded with weights that are
zero near each tile's inner edges. The second by normalising every tile with the statistics of
the whole image, gathered over the tiles (each pixel counted once): exactly, one pass per norm
layer, or approximately in one pass. A thumbnail's statistics (URST's thumbnail instance norm)
cost less but differ more, because feature statistics change with scale; on a generator with
strong style modulation even the one-pass statistics can move outputs by many levels, which is
why exact is the default.

The exact passes keep each tile's activations from one norm layer to the next
(`tile_cache`: every layer computed once per tile) when those fit under a memory limit, and
otherwise recompute each pass from the input, stopping after its layer (`exact_image_stats`
here: about half a full pass per norm layer). Either way the network runs on one tile at a
time; the image is held once in and once out (16 bytes per pixel while blending).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TileLayout:
    """How an image is cut: tiles of `tile` pixels overlapping by at least `overlap`, starting
    on multiples of `multiple` (the generator's size multiple)."""

    tile: int
    overlap: int
    multiple: int


def tile_starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of `tile` overlapping by >= `overlap`.

    Tiles are spread evenly; starts are multiples of `multiple`, so every tile sees the same
    stride-2 sampling grid as the whole image would. `length` must be a multiple too."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / max(multiple, tile - overlap)) + 1
    span = (length - tile) // multiple
    return [round(i * span / (count - 1)) * multiple for i in range(count)]


def owned(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """The part of [0, length) each tile answers for: up to the middle of each overlap."""
    ends = [min(length, s + tile) for s in starts]
    cuts = [0] + [(ends[i] + starts[i + 1]) // 2 for i in range(len(starts) - 1)] + [length]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def ramp(size: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """1-D blending weight of a tile: zero within overlap/4 of an inner edge, then linear."""
    pos = torch.arange(size, dtype=torch.float32) + 0.5
    margin = overlap / 4
    width = max(1.0, overlap - 2 * margin)
    rise = ((pos - margin) / width).clamp(0, 1)
    fall = ((size - pos - margin) / width).clamp(0, 1)
    weight = torch.ones(size)
    if not at_start:
        weight = weight * rise
    if not at_end:
        weight = weight * fall
    return weight


def stylize_tiled(forward: Forward, x: torch.Tensor, layout: TileLayout) -> torch.Tensor:
    """Run `forward` on overlapping tiles of (1, 3, H, W) `x` and cross-fade the results.

    H and W must be multiples of `layout.multiple` (the caller pads); so must its tile."""
    height, width = x.shape[2:]
    tiles = tile_grid(height, width, layout)
    return blend(height, width, layout.overlap, ((t, forward(t.region(x))) for t in tiles))


def blend(
    height: int, width: int, overlap: int, pieces: Iterable[tuple[Tile, torch.Tensor]]
) -> torch.Tensor:
    """Cross-fade the tiles' outputs into one (1, 3, height, width) image on the CPU; `pieces`
    may be a generator, so that each tile's output is let go once added."""
    out = torch.zeros(1, 3, height, width)
    total = torch.zeros(1, 1, height, width)
    for t, piece in pieces:
        wy = ramp(t.height, overlap, t.top == 0, t.top + t.height >= height)
        wx = ramp(t.width, overlap, t.left == 0, t.left + t.width >= width)
        weight = (wy[:, None] * wx[None, :])[None, None]
        rows, cols = slice(t.top, t.top + t.height), slice(t.left, t.left + t.width)
        out[:, :, rows, cols] += piece.float().cpu() * weight
        total[:, :, rows, cols] += weight
    return out / total


def tile_grid(height: int, width: int, layout: TileLayout) -> list[Tile]:
    """The tiles of an image, with their blending weights' edges and the part each owns."""
    tile = layout.tile
    rows, cols = (tile_starts(n, tile, layout.overlap, layout.multiple) for n in (height, width))
    own_rows, own_cols = owned(rows, tile, height), owned(cols, tile, width)
    tiles = []
    for top, (own_top, own_bottom) in zip(rows, own_rows, strict=True):
        for left, (own_left, own_right) in zip(cols, own_cols, strict=True):
            tiles.append(
                Tile(
                    top,
                    left,
                    min(tile, height),
                    min(tile, width),
                    (own_top - top, own_bottom - top, own_left - left, own_right - left),
                )
            )
    return tiles


@dataclass
class Tile:
    top: int
    left: int
    height: int
    width: int
    own: tuple[int, int, int, int]  # rows and columns (in the tile) that only this tile counts

    def region(self, x: torch.Tensor) -> torch.Tensor:
        """The tile's part of the image `x` (a view)."""
        return x[:, :, self.top : self.top + self.height, self.left : self.left + self.width]

    def owned_part(self, h: torch.Tensor) -> torch.Tensor:
        """The part of the tile's feature map `h` this tile owns, scaled to h's resolution."""
        rows, cols = h.shape[2:]
        top, bottom = self.own[0] / self.height, self.own[1] / self.height
        left, right = self.own[2] / self.width, self.own[3] / self.width
        return h[
            :, :, round(top * rows) : round(bottom * rows), round(left * cols) : round(right * cols)
        ]


class _Stop(Exception):
    """Raised by a statistics hook once the last layer a pass needs has been seen."""


Stats = dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]


class Moments:
    """One norm layer's input summed over the parts of the tiles each owns, in float64, so
    that every pixel of the image counts once: the whole image's per-channel statistics."""

    def __init__(self) -> None:
        self.sums: list[torch.Tensor] | None = None

    def add(self, tile: Tile, h: torch.Tensor) -> None:
        part = tile.owned_part(h).double()
        count = torch.tensor(float(part.shape[2] * part.shape[3]), dtype=torch.float64)
        parts = [part.sum(dim=(2, 3), keepdim=True), (part * part).sum(dim=(2, 3), keepdim=True)]
        parts.append(count)
        old = self.sums
        self.sums = parts if old is None else [a + b for a, b in zip(old, parts, strict=True)]

    def stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and variance, as float32 (1, C, 1, 1) tensors."""
        assert self.sums is not None, "no tile added"
        total, squares, count = self.sums
        mean = total / count
        return mean.float(), (squares / count - mean * mean).clamp_min(0).float()


def image_stats(
    net: nn.Module,
    forward: Forward,
    x: torch.Tensor,
    layout: TileLayout,
    *,
    stop_after: nn.Module | None = None,
    order: list[nn.Module] | None = None,
) -> Stats:
    """Per-channel mean and variance of every InstanceNorm2d input over the whole image.

    Runs `forward` on each tile; each norm layer adds up its input over the part of the tile
    the tile owns (scaled to the layer's resolution), so every pixel counts once. A layer's
    statistics are exact when every layer before it normalises with exact statistics (inside
    `shared_instance_norm`); the tile's own statistics elsewhere make them approximate.
    `stop_after` ends each tile's pass after that layer; `order` collects execution order."""
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    sums: dict[nn.Module, Moments] = {}
    current: list[Tile] = []

    def keep(module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: object) -> None:
        sums.setdefault(module, Moments()).add(current[0], inputs[0])
        if order is not None and module not in order:
            order.append(module)
        if module is stop_after:
            raise _Stop

    handles = [m.register_forward_hook(keep) for m in norms]
    try:
        for t in tile_grid(*x.shape[2:], layout):
            current[:] = [t]
            try:
                forward(t.region(x))
            except _Stop:
                pass
    finally:
        for handle in handles:
            handle.remove()
    return {module: moments.stats() for module, moments in sums.items()}


def exact_image_stats(
    net: nn.Module, forward: Forward, x: torch.Tensor, layout: TileLayout
) -> Stats:
    """The statistics the untiled image would give every norm layer, one layer per pass.

    Pass k normalises layers before k with their (already exact) statistics and stops after
    layer k: exact up to the context tiles lack near their owned parts' edges. Costs about
    half a full pass per norm layer (the `lite` generator has 13)."""
    order: list[nn.Module] = []
    first = image_stats(net, forward, x, layout, order=order)
    stats = {order[0]: first[order[0]]}
    for module in order[1:]:
        with shared_instance_norm(net, stats):
            found = image_stats(net, forward, x, layout, stop_after=module)
        stats[module] = found[module]
    return stats


@contextlib.contextmanager
def shared_instance_norm(net: nn.Module, stats: Stats) -> Iterator[None]:
    """Inside the block, the InstanceNorm2d layers in `stats` normalise with those statistics."""
    norms = [m for m in net.modules() if m in stats]
    try:
        for module in norms:
            module.forward = partial(_normalise, module, *stats[module])
        yield
    finally:
        for module in norms:
            module.__dict__.pop("forward", None)


def _normalise(
    module: nn.InstanceNorm2d, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    y = (x.float() - mean) * torch.rsqrt(var + module.eps)
    if module.affine:
        y = y * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)
    return y.to(x.dtype)
