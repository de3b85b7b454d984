"""What the generator's texture gain and lines could buy: an oracle, not a method.

    .venv/bin/python benchmarks/control_oracle.py runs/quality/data

Reads the data folder a `styleforge bench --quality --out DIR` run wrote (DIR/data), applies
the operators of the generator's texture gain (`--detail-radius`) and of the `--ink` lines it
had until they were pruned, with one global setting per row, to the held-out test photos, and
prints their SSIM to each style's truth beside the identity's. It says which way each style
wants texture and outlines to move (docs/research-log.md, eighth round), not what a trained
model reaches.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from styleforge.data.augment import pil_to_unit, unit_to_pil
from styleforge.data.images import load_rgb
from styleforge.evaluation.metrics import PairedScores
from styleforge.models.filters import guided_base
from styleforge.models.layers import luminance

STYLES = ("cartoon", "smooth", "pencil", "grade", "oil")
INK_SCALE = 4.0  # line strength 1 darkens a black-white step by 2.7 (of 2): pencil's best fit
SETTINGS = (  # (texture gain, line strength)
    (1.0, 0.0),
    (0.0, 0.0),
    (0.5, 0.0),
    (1.5, 0.0),
    (1.0, 1.0),
    (0.0, 0.5),
)


def edge_lines(x: torch.Tensor) -> torch.Tensor:
    """Edge strength (N, 1, H, W): the gradient of the lightly smoothed luminance, scaled."""
    y = F.avg_pool2d(luminance(x), 3, 1, 1, count_include_pad=False)
    dx = F.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1))
    dy = F.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1))
    return (dx * dx + dy * dy + 1e-8).sqrt() * INK_SCALE


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="DIR/data of a `bench --quality --out DIR` run")
    parser.add_argument("--radius", type=int, default=4, help="guided-filter radius (pixels)")
    args = parser.parse_args()
    print("| style | " + " | ".join(f"gain {g}, lines {k}" for g, k in SETTINGS) + " |")
    print("| --- " * (len(SETTINGS) + 1) + "|")
    for style in STYLES:
        truths = sorted((args.data / style / "truth").glob("*.png"))
        scores: list[list[float]] = [[] for _ in SETTINGS]
        for truth in truths:
            x = pil_to_unit(load_rgb(args.data / "photos" / "test" / truth.name))[None]
            base, lines, reference = guided_base(x, args.radius), edge_lines(x), load_rgb(truth)
            for row, (gain, strength) in zip(scores, SETTINGS, strict=True):
                out = base + gain * (x - base) - strength * lines
                row.append(PairedScores.of(unit_to_pil(out[0]), reference).ssim)
        print(f"| {style} | " + " | ".join(f"{np.mean(r):.4f}" for r in scores) + " |")


if __name__ == "__main__":
    main()
