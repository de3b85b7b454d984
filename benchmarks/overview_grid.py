"""One photo across every style of a quality-bench run: the README's overview picture.

    .venv/bin/python benchmarks/overview_grid.py runs/quality --recipe default \
        --photo coffee --out docs/quality/overview.jpg

Reads what `styleforge bench --quality --out DIR` left in DIR (the test photos, each task's
ground truth, each recipe's outputs) and draws two rows: the ground truth of every task above
(the style's own look; the paintings have none), the recipe's output below, the input photo
at the top left, each cell labelled. Nothing is trained or scored here: the figures are in
DIR/quality.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from styleforge.data.images import load_rgb
from styleforge.inference.files import grid, save_image

TASK_ORDER = ("cartoon", "smooth", "oil", "pencil", "grade", "painting")
CELL = (256, 200)  # width, height
LABEL_HEIGHT = 22


def cell(img: Image.Image | None, label: str) -> Image.Image:
    """`img` scaled to fit the cell above a one-line label (a blank cell without an image)."""
    width, height = CELL
    out = Image.new("RGB", (width, height + LABEL_HEIGHT), "white")
    if img is not None:
        scale = min(width / img.width, height / img.height)
        size = (round(img.width * scale), round(img.height * scale))
        out.paste(img.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, 0))
    font = ImageFont.load_default(size=15)
    ImageDraw.Draw(out).text((4, height + 3), label, fill="black", font=font)
    return out


def find(folder: Path, photo: str) -> Image.Image | None:
    """The image named `photo` (any extension) in `folder`, or None."""
    matches = sorted(folder.glob(f"{photo}.*")) if folder.is_dir() else []
    return load_rgb(matches[0]) if matches else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the --out folder of a `bench --quality` run")
    parser.add_argument("--recipe", default="default", help="the recipe whose outputs to show")
    parser.add_argument("--photo", default="coffee", help="the test photo's name")
    parser.add_argument("--out", type=Path, required=True, help="the picture to write")
    args = parser.parse_args()
    photo = find(args.run / "data" / "photos" / "test", args.photo)
    if photo is None:
        parser.error(f"no test photo {args.photo!r} in {args.run}/data/photos/test")
    tasks = [t for t in TASK_ORDER if (args.run / "outputs" / t / args.recipe).is_dir()]
    if not tasks:
        parser.error(f"no outputs of recipe {args.recipe!r} in {args.run}/outputs")
    top = [cell(photo, "input")]
    bottom = [cell(None, f"below: {args.recipe}")]
    for task in tasks:
        truth = find(args.run / "data" / task / "truth", args.photo)
        top.append(cell(truth, f"{task}: truth" if truth else f"{task}: (no truth)"))
        output = find(args.run / "outputs" / task / args.recipe, args.photo)
        bottom.append(cell(output, f"{task}: {args.recipe}"))
    save_image(grid(top + bottom, columns=len(top)), args.out)
    print(f"wrote {args.out} ({len(tasks)} styles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
