"""The built-in demo task, made from photos that pip packages ship (nothing is downloaded).

Content photos come from scikit-image, scikit-learn and matplotlib; the style set is a
procedural cartoon of *other* photos; held-out test photos come with their procedural ground
truth, so the trained model can be scored against the truth and the identity baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.data.augment import resize_shorter
from styleforge.data.images import to_rgb
from styleforge.data.procedural import cartoon


def _skimage(name: str, part: int | None = None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        raw = getattr(skimage.data, name)()
        return raw if part is None else raw[part]

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _matplotlib(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data(name) as handle:
            return np.asarray(Image.open(handle).convert("RGB"))

    return load


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "rocket": _skimage("rocket"),
    "motorcycle_left": _skimage("stereo_motorcycle", 0),
    "motorcycle_right": _skimage("stereo_motorcycle", 1),
    "camera": _skimage("camera"),
    "grace_hopper": _matplotlib("grace_hopper.jpg"),
    "coins": _skimage("coins"),
    "flower": _sklearn("flower.jpg"),
    "hubble": _skimage("hubble_deep_field"),
    "ihc": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "china": _sklearn("china.jpg"),
}

SPLITS = {
    # the style set holds everyday colour photos, so that what sets it apart from the content
    # set is the cartoon look, not a palette (microscopy and space images would teach one)
    "content": ["rocket", "motorcycle_left", "camera", "coins", "hubble", "ihc", "retina"],
    "style": ["astronaut", "flower", "motorcycle_right", "grace_hopper"],
    "test": ["chelsea", "coffee", "china"],
}
DEMO_SIZE = 256  # shorter side of every demo image


def photo(name: str) -> Image.Image:
    """A packaged photo as RGB, shorter side DEMO_SIZE."""
    raw = PHOTOS[name]()
    img = to_rgb(Image.fromarray(np.asarray(raw)))
    return resize_shorter(img, DEMO_SIZE)


@dataclass
class DemoData:
    content: Path
    style: Path
    test: Path
    truth: Path


def build_demo_data(root: Path) -> DemoData:
    """Write content/, style/ (cartoons of other photos), test/ and truth/ under root."""
    folders = DemoData(root / "content", root / "style", root / "test", root / "truth")
    for folder in vars(folders).values():
        folder.mkdir(parents=True, exist_ok=True)
    for name in SPLITS["content"]:
        photo(name).save(folders.content / f"{name}.png")
    for name in SPLITS["style"]:
        Image.fromarray(cartoon(np.asarray(photo(name)))).save(folders.style / f"{name}.png")
    for name in SPLITS["test"]:
        img = photo(name)
        img.save(folders.test / f"{name}.png")
        Image.fromarray(cartoon(np.asarray(img))).save(folders.truth / f"{name}.png")
    return folders
