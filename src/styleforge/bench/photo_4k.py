"""The 4K photo rows of `styleforge bench --sizes 4k`: a 3840x2160 photo's whole path.

Large photos are what `--tile` is for, and where exact tile statistics cost the most, so their
time and peak memory are measured on the real size rather than extrapolated from squares:
untiled (the reference), `--tile 512` with exact statistics (the default) and with the one-pass
approximation. Opt-in: the cases take minutes on a CPU, and the untiled one several GiB.
Every case is one `stylize_tensor` call, as in `inference.py`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from styleforge.bench.inference import photo, preset_config, usable_backends
from styleforge.bench.memory import peak_rss_mib, reset_peak
from styleforge.bench.timing import time_call
from styleforge.inference.stylizer import Stylizer
from styleforge.models.stylenet import StyleNet

log = logging.getLogger(__name__)

HEIGHT, WIDTH = 2160, 3840
TILE = 512
MODES: dict[str, dict[str, Any]] = {  # Stylizer's tiling options per row
    "untiled": {},
    f"tile {TILE} exact": dict(tile=TILE),
    f"tile {TILE} fast": dict(tile=TILE, tile_exact=False),
}
BACKENDS = ("fp32", "bf16")  # the tiled path runs the uncompiled PyTorch network


@dataclass
class PhotoRow:
    preset: str
    image: str
    backend: str
    mode: str
    median_ms: float
    peak_rss_mib: float
    runs: int
    vs_untiled: float | None = None  # this case's time / the untiled one's: > 1 is slower

    def as_dict(self) -> dict:
        return asdict(self)


def run_photo_4k_bench(
    presets: list[str],
    backends: list[str],
    *,
    repeats: int,
    max_seconds: float,
    device: torch.device,
) -> list[PhotoRow]:
    """Every preset x backend (fp32, bf16; others are left out) x mode on one 4K photo."""
    usable = usable_backends(backends, device)
    kept = [b for b in usable if b in BACKENDS]
    if kept != usable:
        log.warning("4k rows: %s not tiled, left out", ", ".join(sorted(set(usable) - set(kept))))
    x = photo(WIDTH, HEIGHT)
    rows: list[PhotoRow] = []
    for preset in presets:
        for backend in kept:
            cases = [_one(preset, backend, mode, x, repeats, max_seconds, device) for mode in MODES]
            for row in cases:
                row.vs_untiled = row.median_ms / cases[0].median_ms
            rows += cases
    return rows


def _one(
    preset: str,
    backend: str,
    mode: str,
    x: torch.Tensor,
    repeats: int,
    max_seconds: float,
    device: torch.device,
) -> PhotoRow:
    config = preset_config(preset)
    torch.manual_seed(0)
    stylizer = Stylizer(StyleNet(config.model), config, device, backend, **MODES[mode])
    code = stylizer.style_code()
    reset_peak()
    timing = time_call(lambda: stylizer.stylize_tensor(x, code), repeats, max_seconds)
    peak = peak_rss_mib()
    row = PhotoRow(
        preset=preset,
        image=f"{WIDTH}×{HEIGHT}",
        backend=backend,
        mode=mode,
        median_ms=timing.median_s * 1e3,
        peak_rss_mib=float(np.round(peak, 1)),
        runs=timing.runs,
    )
    log.debug("%s", row)
    return row
