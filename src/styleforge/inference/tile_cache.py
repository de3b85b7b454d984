"""Exact tiled statistics with every layer computed once per tile.

Recomputing each statistics pass from the input (`tiling.exact_image_stats`) runs the layers
before norm layer k again for every k: about 10x the untiled time for `lite`. Here the
generator's forward runs as its steps (`models/flow.py`), all tiles advancing together from
one norm layer's input to the next: each tile's state (`Flow`) waits at the boundary while the
whole image's statistics of that layer are summed over the tiles, then every tile resumes with
them. The same steps in the same order as the recomputing passes, so the same numbers.

The price is memory: every tile's state at the fullest boundary (for `lite`, 16 channels at
full resolution plus the photo and its start, about 90 bytes per tile pixel in fp32). The
caller measures it first (`cache_bytes`) and recomputes instead above a limit (`cache_limit`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

from styleforge.inference.tiling import (
    Moments,
    Stats,
    Tile,
    TileLayout,
    blend,
    shared_instance_norm,
    tile_grid,
)
from styleforge.models.flow import Flow, Step, run_steps
from styleforge.models.generator import Generator

CACHE_CAP = 2 * 2**30  # bytes: the tile states at most, whatever memory is free
FREE_SHARE = 0.5  # and at most this share of the memory free when a picture starts
Place = Callable[[torch.Tensor], torch.Tensor]  # a CPU tile to the network's device and layout
Scope = Callable[[], contextlib.AbstractContextManager]  # what the steps run inside (autocast)


def stages(steps: list[Step]) -> list[list[Step]]:
    """The steps cut before each InstanceNorm2d: every stage but the first starts with one,
    whose input the tiles hold in their flows' `h` between stages."""
    cut: list[list[Step]] = [[]]
    for step in steps:
        if isinstance(step.norm, nn.InstanceNorm2d):
            cut.append([])
        cut[-1].append(step)
    return cut


def stylize_cached(
    generator: Generator,
    x: torch.Tensor,
    code: torch.Tensor,
    layout: TileLayout,
    place: Place,
    scope: Scope = contextlib.nullcontext,
) -> torch.Tensor:
    """(1, 3, H, W) `x` stylized in tiles normalised with the whole image's exact statistics,
    each tile's state kept between norm layers; the cross-faded (1, 3, H, W) CPU result."""
    height, width = x.shape[2:]
    tiles = tile_grid(height, width, layout)
    flows: list[Flow | None] = [generator.flow(place(t.region(x)), code) for t in tiles]
    *inner, last = stages(generator.steps())
    stats: Stats = {}
    for stage, following in zip(inner, [*inner[1:], last], strict=True):
        moments = Moments()
        with shared_instance_norm(generator, stats), scope():
            for tile, flow in zip(tiles, flows, strict=True):
                moments.add(tile, run_steps(stage, flow).h)
        stats[following[0].norm] = moments.stats()

    def outputs() -> Iterator[tuple[Tile, torch.Tensor]]:
        for i, tile in enumerate(tiles):
            with shared_instance_norm(generator, stats), scope():
                out = run_steps(last, flows[i]).h
            flows[i] = None  # let the tile's state go once its output is blended
            yield tile, out

    return blend(height, width, layout.overlap, outputs())


PROBE_MULTIPLES = 8  # the probe tile's side, in size multiples (the smallest tile allowed)


def cache_bytes(
    generator: Generator,
    code: torch.Tensor,
    shape: tuple[int, int],
    layout: TileLayout,
    place: Place,
    scope: Scope = contextlib.nullcontext,
) -> int:
    """Bytes the tiles' states of an image of `shape` hold at the fullest stage boundary.

    Measured, not derived from the architecture: the steps run on a small probe tile (with its
    own statistics: only the sizes matter) and the fullest state per pixel is scaled to every
    tile's pixels. Exact where the sides are multiples of the generator's, as tiles are."""
    side = PROBE_MULTIPLES * layout.multiple
    flow = generator.flow(place(torch.zeros(1, 3, side, side)), code)
    fullest = flow.nbytes()
    with scope():
        for stage in stages(generator.steps()):
            fullest = max(fullest, run_steps(stage, flow).nbytes())
    pixels = sum(t.height * t.width for t in tile_grid(*shape, layout))
    return math.ceil(fullest / side**2 * pixels)


def cache_limit(device: torch.device) -> int:
    """How many bytes the tile states may take: FREE_SHARE of the memory free now on `device`
    (host memory for the CPU), at most CACHE_CAP; CACHE_CAP where free memory is unknown."""
    free = None
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    elif device.type == "cpu":
        free = available_memory()
    return CACHE_CAP if free is None else min(CACHE_CAP, int(free * FREE_SHARE))


def available_memory() -> int | None:
    """Bytes of host memory available to new allocations (Linux's MemAvailable), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
