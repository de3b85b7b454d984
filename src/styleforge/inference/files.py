"""Stylizing files, globs and folders into an output folder, keeping names and sizes.

Outputs keep the input's file name (and, for folder inputs, its path below the folder). Nothing
is overwritten without `overwrite=True`; a bad input is reported and the rest still processed.
"""

from __future__ import annotations

import glob
import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from styleforge.atomic import atomic_write_bytes
from styleforge.data.images import DEFAULT_MAX_PIXELS, iter_image_files, load_rgb
from styleforge.errors import ImageLoadError, StyleforgeError
from styleforge.progress import progress_bar

log = logging.getLogger(__name__)

_GLOB_CHARS = set("*?[")


@dataclass
class Job:
    source: Path
    target: Path


@dataclass
class RunReport:
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def plan_jobs(inputs: list[str], out_dir: Path, recursive: bool = False) -> list[Job]:
    """Map input files, globs and folders to output paths; errors name the bad input."""
    jobs: list[Job] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = list(iter_image_files(path, recursive))
            if not found:
                raise StyleforgeError(f"no image files in folder {path}")
            jobs += [Job(f, out_dir / f.relative_to(path)) for f in found]
        elif path.exists() or path.is_symlink():
            jobs.append(Job(path, out_dir / path.name))
        elif _GLOB_CHARS & set(raw):
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=recursive))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise StyleforgeError(f"no file matches {raw}")
            jobs += [Job(f, out_dir / f.name) for f in files]
        else:
            raise StyleforgeError(f"input {raw} does not exist")
    seen: dict[Path, Path] = {}
    for job in jobs:
        if job.target in seen:
            raise StyleforgeError(
                f"{seen[job.target]} and {job.source} would both be written to {job.target}"
            )
        seen[job.target] = job.source
    return jobs


def check_overwrites(jobs: list[Job], overwrite: bool) -> None:
    """Refuse up front to replace existing outputs unless asked to."""
    if overwrite:
        return
    existing = [job.target for job in jobs if job.target.exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise StyleforgeError(f"{existing[0]}{more} already exists; pass --overwrite to replace")


Renderer = Callable[[list[Image.Image]], list[Image.Image]]


def run_jobs(
    jobs: list[Job], render: Renderer, batch_size: int = 4, max_pixels: int = DEFAULT_MAX_PIXELS
) -> RunReport:
    """Load, `render` and save each job in batches; failures are collected, not raised."""
    report = RunReport()
    with progress_bar(total=len(jobs), desc="stylizing", unit="img") as bar:
        for start in range(0, len(jobs), batch_size):
            chunk, images = [], []
            for job in jobs[start : start + batch_size]:
                try:
                    images.append(load_rgb(job.source, max_pixels))
                    chunk.append(job)
                except ImageLoadError as exc:
                    report.failed.append((job.source, exc.reason))
                    bar.update(1)
            for job, out in zip(chunk, render(images), strict=True):
                try:
                    save_image(out, job.target)
                    report.done.append(job.target)
                except (OSError, ValueError, KeyError) as exc:
                    report.failed.append((job.source, f"cannot write {job.target}: {exc}"))
                bar.update(1)
    return report


def grid(images: list[Image.Image], columns: int | None = None) -> Image.Image:
    """Equal-size images tiled left to right, top to bottom, about as wide as tall."""
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    sheet = Image.new("RGB", (columns * width, rows * height), (255, 255, 255))
    for i, img in enumerate(images):
        sheet.paste(img, ((i % columns) * width, (i // columns) * height))
    return sheet


def save_image(img: Image.Image, path: Path) -> None:
    """Save atomically in the format the file extension names (PNG when it names none)."""
    extension = path.suffix.lower()
    fmt = Image.registered_extensions().get(extension, "PNG")
    buffer = io.BytesIO()
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    img.save(buffer, format=fmt, **options)
    atomic_write_bytes(path, buffer.getvalue())
