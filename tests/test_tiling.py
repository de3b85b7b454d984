"""Tiling: a 1024² photo stylized in 512² tiles matches the untiled result, with no seams."""

from __future__ import annotations

import pytest
import torch

from conftest import real_photo, untrained_stylizer
from styleforge.data.augment import pil_to_unit
from styleforge.errors import StyleforgeError
from styleforge.inference.stylizer import Stylizer
from styleforge.inference.tiling import tile_starts

SIZE, TILE, OVERLAP = 1024, 512, 128
# stated bounds, in 8-bit levels (measured: mean 0.000, max < 0.01 with exact statistics)
MEAN_BOUND, P99_BOUND = 0.05, 0.5
SEAM_BOUND = 0.25  # extra mean gradient across a tile border, over the untiled image's there


def make_stylizer(**options) -> Stylizer:
    return untrained_stylizer(4, **options)


@pytest.fixture(scope="module")
def outputs() -> tuple[torch.Tensor, torch.Tensor]:
    photo = real_photo("astronaut", SIZE).crop((0, 0, SIZE, SIZE))
    x = pil_to_unit(photo)[None] * 2 - 1
    whole = make_stylizer()
    tiled = make_stylizer(tile=TILE, tile_overlap=OVERLAP)
    code = whole.style_code(seed=1)
    to_levels = lambda y: (y + 1) * 127.5  # noqa: E731
    return to_levels(whole.stylize_tensor(x, code)), to_levels(tiled.stylize_tensor(x, code))


@pytest.mark.slow
def test_tiled_matches_untiled(outputs) -> None:
    whole, tiled = outputs
    diff = (whole - tiled).abs()
    assert diff.mean().item() < MEAN_BOUND
    assert diff.flatten().quantile(0.99).item() < P99_BOUND


@pytest.mark.slow
def test_no_visible_seams(outputs) -> None:
    whole, tiled = outputs
    borders = set()
    for start in tile_starts(SIZE, TILE, OVERLAP, 4):
        borders.update(b for b in (start, start + TILE) if 0 < b < SIZE)
    assert borders  # there are inner tile edges to look at
    for axis in (2, 3):  # rows, then columns
        grad_tiled = tiled.diff(dim=axis).abs().mean(dim=(0, 1, 5 - axis))
        grad_whole = whole.diff(dim=axis).abs().mean(dim=(0, 1, 5 - axis))
        for border in sorted(borders):
            seam = grad_tiled[border - 1] - grad_whole[border - 1]
            assert seam < SEAM_BOUND, (axis, border, seam)
        # and nowhere does the tiled image have a step the untiled one lacks
        assert (grad_tiled - grad_whole).max() < SEAM_BOUND * 2


def test_tile_starts_cover_and_align() -> None:
    starts = tile_starts(1000, 256, 64, 4)
    assert starts[0] == 0 and starts[-1] + 256 == 1000
    assert all(s % 4 == 0 for s in starts)
    assert all(b - a <= 256 - 64 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(200, 256, 64, 4) == [0]


def test_bad_tile_options() -> None:
    with pytest.raises(StyleforgeError):
        make_stylizer(tile=16)
    with pytest.raises(StyleforgeError):
        make_stylizer(tile=256, tile_overlap=200)
