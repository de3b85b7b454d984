"""What the statistics transfer alone does to the quality benchmark's test photos (no training).

    .venv/bin/python benchmarks/statistics_transfer.py runs/quality/data

Reads the data folder a `styleforge bench --quality --out DIR` run wrote (DIR/data), fits the
transfer on each style's unpaired folders exactly as training does (`--stats-transfer`), and
prints the SSIM (PSNR) of the held-out test photos to each style's truth for the identity, each
curve alone, both (what the generator starts from), and the colour curves at full strength. It
measures the start, not what a trained model reaches (docs/research-log.md, tenth round).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from styleforge.config import ENERGY_KNOTS
from styleforge.data.augment import pil_to_uint8, pil_to_unit, unit_to_pil
from styleforge.data.datasets import ImageSet
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.evaluation.metrics import PairedScores
from styleforge.models.statistics_transfer import StatisticsTransfer
from styleforge.training.statistics_fit import pooled_statistics, style_offsets

STYLES = ("cartoon", "smooth", "pencil", "grade", "oil")
ROWS = {  # name: (texture scale, colour scale) applied to the fitted offsets
    "identity": (0.0, 0.0),
    "texture curve only": (1.0, 0.0),
    "colour curves only": (0.0, 1.0),
    "both (the start)": (1.0, 1.0),
    "both, colour at full strength": (1.0, 2.0),
}


def image_set(folder: Path) -> ImageSet:
    images = [pil_to_uint8(load_rgb(path)) for path in iter_image_files(folder)]
    return ImageSet(folder.name, images=images)


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="DIR/data of a `bench --quality --out DIR` run")
    args = parser.parse_args()
    content = pooled_statistics(image_set(args.data / "photos" / "content"))
    transfer = StatisticsTransfer()
    transfer.energy_in.copy_(content[0])
    transfer.colour_in.copy_(content[1])
    tests = {p.stem: load_rgb(p) for p in iter_image_files(args.data / "photos" / "test")}
    print("| start | " + " | ".join(STYLES) + " |")
    print("| --- " * (len(STYLES) + 1) + "|")
    results: dict[str, list[str]] = {name: [] for name in ROWS}
    for style in STYLES:
        offsets = style_offsets(content, pooled_statistics(image_set(args.data / style / "style")))
        truths = {name: load_rgb(args.data / style / "truth" / f"{name}.png") for name in tests}
        for name, (texture, colour) in ROWS.items():
            scaled = torch.cat([texture * offsets[:ENERGY_KNOTS], colour * offsets[ENERGY_KNOTS:]])
            outputs = {
                n: unit_to_pil(transfer(pil_to_unit(img)[None], scaled[None])[0])
                for n, img in tests.items()
            }
            score = PairedScores.mean([PairedScores.of(outputs[n], truths[n]) for n in tests])
            results[name].append(f"{score.ssim:.4f} ({score.psnr:.2f})")
    for name, cells in results.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
