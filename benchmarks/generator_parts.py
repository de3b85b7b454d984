"""Which part of a trained generator buys style and which costs SSIM: a diagnostic.

    .venv/bin/python benchmarks/generator_parts.py runs/quality cartoon,pencil [--recipe default]

Reads a `styleforge bench --quality --out DIR` run (DIR/data and DIR/runs/STYLE/RECIPE) and
scores each style's model with parts switched off, as the bench scores it (probe share, FD gap
closed, SSIM gap closed, content kept): the statistics transfer alone, with the texture gain,
with the decoder's change, and the decoder's change scaled by 0.25, 0.5 and 0.75 (its head's
weights scaled). The fifteenth round of docs/research-log.md read its first figures here.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from styleforge.evaluation.style_task import StyleTask, TaskScorer
from styleforge.inference.stylizer import Stylizer
from styleforge.models.pretrained import EfficientNetLite0

DECODER_SCALES = (0.25, 0.5, 0.75)


def variant(base: Stylizer, *, gain: bool, decoder: float) -> Stylizer:
    """A copy of `base` with the texture gain on or off and the decoder's change scaled."""
    stylizer = copy.copy(base)
    stylizer.net = copy.deepcopy(base.net)
    stylizer._forward = stylizer.net
    generator = stylizer.net.generator
    if not gain:
        generator.detail = None
    with torch.no_grad():
        generator.head.weight.mul_(decoder)
        generator.head.bias.mul_(decoder)
    return stylizer


def parts(base: Stylizer) -> dict[str, Stylizer]:
    """The named variants, from the statistics transfer alone to the whole generator."""
    rows = {
        "statistics transfer": variant(base, gain=False, decoder=0.0),
        "+ texture gain": variant(base, gain=True, decoder=0.0),
        "+ decoder, no gain": variant(base, gain=False, decoder=1.0),
    }
    for scale in DECODER_SCALES:
        rows[f"+ gain + decoder x{scale}"] = variant(base, gain=True, decoder=scale)
    rows["whole generator"] = base
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="a `bench --quality --out` folder")
    parser.add_argument("styles", help="comma-separated tasks with a truth, e.g. cartoon,pencil")
    parser.add_argument("--recipe", default="default", help="the recipe's name in that run")
    args = parser.parse_args()
    net = EfficientNetLite0()
    for style in args.styles.split(","):
        data = args.root / "data"
        task = StyleTask(
            style,
            data / "photos/content",
            data / style / "style",
            data / "photos/test",
            data / style / "truth",
        )
        scorer = TaskScorer(task, net)
        base = Stylizer.load(args.root / "runs" / style / args.recipe / "model.safetensors", "cpu")
        print(f"{style}: probe share / FD gap closed / SSIM gap closed / content")
        rows = {
            "identity": scorer.inputs,
            **{
                name: {n: s(img) for n, img in scorer.inputs.items()}
                for name, s in parts(base).items()
            },
        }
        for name, outputs in rows.items():
            s = scorer.score(outputs)
            print(
                f"  {name:24s} {s.probe_share:.2f} / {s.fd_gap_closed:.2f} / "
                f"{s.ssim_gap_closed:+.3f} / {s.content_ssim:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
