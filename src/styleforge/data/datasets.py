"""Data set layouts and batch sampling.

Layouts: `--content DIR --style DIR` (a style folder whose subfolders hold images is one style per
subfolder), or a CycleGAN root `--data DIR` with trainA/ (content) and trainB/ (style), and
optionally testA/ for held-out sample images. Images are decoded and resized once, then kept in
memory as uint8, so an epoch never re-decodes a large JPEG.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from styleforge.config import DataConfig
from styleforge.data.augment import (
    Augmenter,
    center_crop,
    pil_to_uint8,
    resize_shorter,
    uint8_to_unit,
)
from styleforge.data.images import (
    LoadReport,
    is_image_name,
    iter_image_files,
    load_many,
    require_folder,
)
from styleforge.errors import ImageLoadError, StyleforgeError
from styleforge.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class ImageSet:
    """Decoded images of one domain, resized so the shorter side is the load size."""

    name: str
    paths: list[Path] = field(default_factory=list)
    images: list[torch.Tensor] = field(default_factory=list)  # uint8 (3, H, W)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class DataSources:
    """Image files of each domain, before decoding."""

    content: list[Path]
    styles: dict[str, list[Path]]
    test: list[Path]


def find_sources(cfg: DataConfig) -> DataSources:
    """Resolve the folders named by the options to lists of image files."""
    if cfg.data:
        if cfg.content or cfg.style:
            raise StyleforgeError("give either --data or --content/--style, not both")
        root = require_folder(cfg.data, "--data")
        content_dir = require_folder(root / "trainA", "--data trainA")
        style_dir = require_folder(root / "trainB", "--data trainB")
        test_dir = root / "testA"
        test = list(iter_image_files(test_dir)) if test_dir.is_dir() else []
        return DataSources(list(iter_image_files(content_dir)), {"style": _files(style_dir)}, test)
    if not cfg.content or not cfg.style:
        raise StyleforgeError("give --content DIR and --style DIR, or --data DIR")
    content_dir = require_folder(cfg.content, "--content")
    style_dir = require_folder(cfg.style, "--style")
    return DataSources(list(iter_image_files(content_dir)), style_folders(style_dir), [])


def style_folders(root: Path) -> dict[str, list[Path]]:
    """One style per subfolder when the root holds only subfolders of images, else one style."""
    top_level = [p for p in sorted(root.iterdir()) if is_image_name(p) and p.is_file()]
    subfolders = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    if not top_level and subfolders:
        styles = {sub.name: _files(sub) for sub in subfolders}
        styles = {name: files for name, files in styles.items() if files}
        if styles:
            return styles
    return {"style": _files(root)}


def _files(folder: Path) -> list[Path]:
    return list(iter_image_files(folder))


# An image each of whose channels stays within this many levels (of 255) is one flat colour.
FLAT_RANGE = 2


def load_image_set(
    name: str, files: list[Path], load_size: int, max_pixels: int, report: LoadReport
) -> ImageSet:
    """Decode and resize every file once; unusable files are counted in `report` and skipped.

    A single flat colour (a 1x1 image, a blank page) is skipped too: it holds no style, and
    instance norm divides by its zero spread, which sends the gradients to 1e18 and beyond."""
    image_set = ImageSet(name)
    with progress_bar(files, desc=f"loading {name}", unit="img", leave=False) as progress:
        for path, img, error in load_many(progress, max_pixels):
            if error is None:
                pixels = pil_to_uint8(resize_shorter(img, load_size))
                spread = pixels.flatten(1).amax(1).int() - pixels.flatten(1).amin(1).int()
                if int(spread.max()) <= FLAT_RANGE:  # every channel constant
                    error = ImageLoadError(path, "a single flat colour: nothing to learn from")
            if error is not None:
                report.failures.append(error)
                continue
            image_set.paths.append(path)
            image_set.images.append(pixels)
            report.loaded += 1
    return image_set


@dataclass
class TrainingData:
    """The decoded content, style and held-out sample images of a run."""

    content: ImageSet
    styles: list[ImageSet]
    test: ImageSet
    report: LoadReport

    @property
    def style_names(self) -> list[str]:
        return [s.name for s in self.styles]

    @classmethod
    def load(cls, cfg: DataConfig) -> TrainingData:
        sources = find_sources(cfg)
        report = LoadReport()
        args = (cfg.load_size, cfg.max_pixels, report)
        content = load_image_set("content", sources.content, *args)
        styles = [load_image_set(name, files, *args) for name, files in sources.styles.items()]
        test = load_image_set("test", sources.test, *args)
        report.log_failures()
        if not content.images:
            raise StyleforgeError(f"no usable content image found ({report.summary()})")
        empty = [s.name for s in styles if not s.images]
        if empty:
            raise StyleforgeError(f"no usable image for style {empty[0]!r} ({report.summary()})")
        small = min(min(img.shape[1:]) for s in (content, *styles) for img in s.images)
        if small < cfg.crop_size:
            raise StyleforgeError(
                f"--crop-size {cfg.crop_size} is larger than the smallest image side ({small}) "
                f"after resizing to --load-size {cfg.load_size}"
            )
        log.info("%s", report.summary())
        return cls(content, styles, test, report)

    def sample_inputs(self, count: int, size: int, multiple: int) -> torch.Tensor:
        """Fixed images for sample grids: held-out ones if any, else the first content images.

        Central squares of side <= size, cut to a multiple of the generator's size multiple."""
        source = self.test if self.test.images else self.content
        picked = source.images[:count]
        side = min(size, *(min(img.shape[1:]) for img in picked))
        side = max(multiple, side - side % multiple)
        return uint8_to_unit(torch.stack([center_crop(img, side) for img in picked]))


class BatchSampler:
    """Draws augmented content batches and style batches (balanced across styles by default).

    Under distributed training (`world` processes) every rank draws the randomness of the whole
    global batch of `batch_size * world` images from the same per-step generator and decodes and
    augments only its own contiguous share, rows `rank * batch_size` onwards: the ranks' shares
    are disjoint, together they are exactly the batch one process with `batch_size * world`
    would draw, and the sampling (balanced styles included) does not depend on the world size.
    """

    def __init__(
        self, data: TrainingData, cfg: DataConfig, batch_size: int, rank: int = 0, world: int = 1
    ):
        self.data = data
        self.batch_size = batch_size
        self.rank = rank
        self.world = world
        self.balance = cfg.balance
        self.augment = Augmenter(cfg.crop_size, cfg.flip, cfg.rotate, cfg.colour_jitter)
        sizes = torch.tensor([len(s) for s in data.styles], dtype=torch.float64)
        self.style_weights = torch.ones_like(sizes) if self.balance else sizes

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world

    @property
    def rows(self) -> range:
        """This rank's rows of the global batch."""
        return range(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)

    def content(self, gen: torch.Generator) -> torch.Tensor:
        images = self.data.content.images
        picks = torch.randint(0, len(images), (self.global_batch,), generator=gen).tolist()
        mine = self.rows
        batch = []
        for row, pick in enumerate(picks):
            params = self.augment.draw(images[pick].shape, gen)
            if row in mine:
                batch.append(self.augment.apply(images[pick], params))
        return torch.stack(batch)

    def style(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of style images and their style labels."""
        labels = torch.multinomial(self.style_weights, self.global_batch, True, generator=gen)
        mine = self.rows
        batch = []
        for row, label in enumerate(labels.tolist()):
            images = self.data.styles[label].images
            pick = int(torch.randint(0, len(images), (1,), generator=gen))
            params = self.augment.draw(images[pick].shape, gen)
            if row in mine:
                batch.append(self.augment.apply(images[pick], params))
        return torch.stack(batch), labels[mine.start : mine.stop]
