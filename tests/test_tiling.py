"""Tiling: a 1024² photo stylized in 512² tiles matches the untiled result, with no seams;
the tiles' activations kept between norm layers give what recomputing them gives, and are
recomputed when they would not fit under the memory limit."""

from __future__ import annotations

import pytest
import torch

import styleforge.inference.stylizer as stylizer_module
from conftest import real_photo, tiny_config, untrained_stylizer, with_statistics_transfer
from styleforge.data.augment import pil_to_unit
from styleforge.errors import StyleforgeError
from styleforge.inference.stylizer import MIB, Stylizer
from styleforge.inference.tile_cache import cache_bytes
from styleforge.inference.tiling import TileLayout, tile_grid, tile_starts

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


def every_part_stylizer(**options) -> Stylizer:
    """A tiny net with the statistics transfer, both regional controls, a decoder that draws
    and the output filter (on for the first style), on the CPU."""
    config = tiny_config()
    config.model.local_affine = 8
    config.model.styles = ["ink", "paint"]
    torch.manual_seed(5)
    net = with_statistics_transfer(config)
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    generator = net.generator
    for weight in (generator.head.weight, generator.local_affine.out.weight):
        torch.nn.init.normal_(weight, std=0.05)
    torch.nn.init.normal_(generator.detail.out.weight, std=0.05)
    return Stylizer(net, config, torch.device("cpu"), **options)


SMALL_TILES = dict(tile=48, tile_overlap=16)  # 3 x 4 tiles on the 96 x 136 photo below


def small_photo() -> torch.Tensor:
    return pil_to_unit(real_photo("chelsea", 96).crop((0, 0, 136, 96)))[None] * 2 - 1


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The exact paths `Stylizer` takes, in order: "cached" or "recomputed"."""
    taken: list[str] = []
    for name, label in (("stylize_cached", "cached"), ("exact_image_stats", "recomputed")):
        real = getattr(stylizer_module, name)

        def recording(*args, _real=real, _label=label, **kwargs):
            taken.append(_label)
            return _real(*args, **kwargs)

        monkeypatch.setattr(stylizer_module, name, recording)
    return taken


def test_cached_tiles_equal_recomputed_tiles(spy: list[str]) -> None:
    x = small_photo()
    cached = every_part_stylizer(**SMALL_TILES, tile_cache_mib=1024)
    recomputed = every_part_stylizer(**SMALL_TILES, tile_cache_mib=0)
    assert len(tile_grid(96, 136, TileLayout(48, 16, 4))) == 12
    for style in (0, 1):  # the output filter on, then off
        code = cached.style_code(style, seed=1)
        assert code[0, -1].item() == (1.0 if style == 0 else 0.0)
        a, b = cached.stylize_tensor(x, code), recomputed.stylize_tensor(x, code)
        assert torch.allclose(a, b, rtol=0, atol=1e-5), (a - b).abs().max()
        assert (a - x).abs().mean() > 0.05  # the net changes the photo
    assert spy == ["cached", "recomputed"] * 2


def test_recomputes_when_the_cache_would_exceed_the_limit(spy: list[str]) -> None:
    x = small_photo()
    stylizer = every_part_stylizer(**SMALL_TILES)
    code = stylizer.style_code(seed=1)
    layout = TileLayout(48, 16, 4)
    with torch.inference_mode():
        need = cache_bytes(stylizer.net.generator, code, (96, 136), layout, stylizer._place)
    # the fullest state: 8 channels at full resolution, the photo and its start (fp32)
    assert need == (8 + 3 + 3) * 4 * 48 * 48 * 12
    stylizer.tile_cache_mib = need / MIB * 1.01
    fits = stylizer.stylize_tensor(x, code)
    stylizer.tile_cache_mib = need / MIB * 0.99
    over = stylizer.stylize_tensor(x, code)
    assert spy == ["cached", "recomputed"]
    assert torch.allclose(fits, over, rtol=0, atol=1e-5)
