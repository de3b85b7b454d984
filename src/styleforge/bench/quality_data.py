"""The quality benchmark's tasks: procedural styles with ground truth, and photos -> paintings.

Photos come from pip packages (scikit-image, scikit-learn, matplotlib) and, when Debian's
package tools can fetch them, Tux Paint's nature photos (`tuxpaint-data`), MATE's nature
wallpapers (`mate-backgrounds`) and OpenCV's sample photos (`opencv-doc`); the paintings are
Battle for Wesnoth's story landscapes (`wesnoth-1.16-data`). Debian files are fetched with
`apt-get download` and unpacked under a cache folder at run time, never committed; each
package's copyright file is kept beside its images.

Each procedural style gets unpaired training sets, with the style images made from *other*
photos than the content images, and held-out test photos with their exact stylized truth.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.data.augment import resize_shorter
from styleforge.data.demo import DEMO_SIZE, photo
from styleforge.data.images import iter_image_files, load_rgb
from styleforge.data.procedural import STYLES
from styleforge.errors import StyleforgeError
from styleforge.evaluation.style_task import StyleTask

# colour photos of everyday scenes from pip packages (grey and microscopy photos would teach
# the model a palette rather than the style)
PIP_PHOTOS = [
    "astronaut",
    "chelsea",
    "china",
    "coffee",
    "flower",
    "grace_hopper",
    "motorcycle_left",
    "motorcycle_right",
    "rocket",
]
TEST_PHOTOS = ["chelsea", "coffee", "china", "lighthouse", "sheep"]


@dataclass(frozen=True)
class DebianFiles:
    package: str
    members: tuple[str, ...]  # folders (ending in "/") or files inside the package: our images
    copyright: str


TUXPAINT = DebianFiles(
    "tuxpaint-data",
    ("./usr/share/tuxpaint/templates/",),
    "./usr/share/doc/tuxpaint-data/copyright",
)
MATE_NATURE = DebianFiles(
    "mate-backgrounds",
    ("./usr/share/backgrounds/mate/nature/",),
    "./usr/share/doc/mate-backgrounds/copyright",
)
# the colour photos of scenes and objects among OpenCV's sample data (not its charts, text,
# calibration boards, renders or the painting)
OPENCV_SAMPLES = "./usr/share/doc/opencv-doc/examples/data/"
OPENCV_PHOTOS = DebianFiles(
    "opencv-doc",
    tuple(
        OPENCV_SAMPLES + name
        for name in (
            "aero1.jpg",
            "aloeL.jpg",
            "apple.jpg",
            "baboon.jpg",
            "board.jpg",
            "building.jpg",
            "butterfly.jpg",
            "ela_original.jpg",
            "fruits.jpg",
            "home.jpg",
            "leuvenA.jpg",
            "messi5.jpg",
            "orange.jpg",
            "rubberwhale1.png",
            "smarties.png",
            "squirrel_cls.jpg",
            "stuff.jpg",
        )
    ),
    "./usr/share/doc/opencv-doc/copyright",
)
PHOTO_PACKAGES = (TUXPAINT, MATE_NATURE, OPENCV_PHOTOS)
WESNOTH = DebianFiles(
    "wesnoth-1.16-data",
    ("./usr/share/games/wesnoth/1.16/data/core/images/story/",),
    "./usr/share/doc/wesnoth-1.16-data/copyright",
)


def fetch_debian_images(files: DebianFiles, cache: Path) -> list[Path]:
    """Images of one Debian package under `cache`, downloading and unpacking it if needed."""
    target = cache / files.package
    done = target / ".complete"
    if not done.exists():
        target.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["apt-get", "download", files.package],
                cwd=target,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise StyleforgeError(
                f"could not fetch the Debian package {files.package} ({exc.__class__.__name__}); "
                "run where apt-get works, or leave the Debian tasks out with --no-debian"
            ) from None
        deb = next(target.glob(f"{files.package}_*.deb"), None)
        if deb is None:
            raise StyleforgeError(f"apt-get download {files.package} left no .deb in {target}")
        unpack(deb, target, (*files.members, files.copyright))
        deb.unlink()
        done.touch()
    return member_images(target, files.members)


def member_images(target: Path, members: tuple[str, ...]) -> list[Path]:
    """The images `members` name under an unpacked package: a folder's images, or the file."""
    found = []
    for member in members:
        path = target / member
        found += iter_image_files(path, recursive=False) if _is_folder(member) else [path]
    return sorted(found)


def unpack(deb: Path, target: Path, members: tuple[str, ...]) -> None:
    """Extract only `members` (files or folders) from the package's data archive, streaming it
    (OpenCV's documentation is a 280 MB archive for 17 photos)."""
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(deb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as dpkg:
        with tarfile.open(fileobj=dpkg.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and any(_names(w, member.name) for w in members):
                    archive.extract(member, target, filter="data")
        dpkg.stdout.read()  # the archive's end padding, so dpkg-deb is not cut off mid-write
    if dpkg.returncode != 0:
        raise subprocess.CalledProcessError(dpkg.returncode, dpkg.args)


def _is_folder(member: str) -> bool:
    return member.endswith("/")


def _names(member: str, path: str) -> bool:
    """Whether a package member (a folder ending in "/", or a file) covers the archive path."""
    return path.startswith(member) if _is_folder(member) else path == member


def _photo_pool(debian_cache: Path | None) -> dict[str, Image.Image]:
    pool = {name: photo(name) for name in PIP_PHOTOS}
    if debian_cache is not None:
        for package in PHOTO_PACKAGES:
            for path in fetch_debian_images(package, debian_cache):
                pool[path.stem] = resize_shorter(load_rgb(path), DEMO_SIZE)
    return pool


def build_tasks(
    root: Path, styles: list[str], debian_cache: Path | None, painting: bool
) -> list[StyleTask]:
    """Write every task's folders under root (replacing an earlier build) and describe them."""
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        raise StyleforgeError(
            f"unknown task {unknown[0]!r}; choose from {', '.join(STYLES)}, painting"
        )
    if painting and debian_cache is None:
        raise StyleforgeError("the painting task needs the Debian packages (drop --no-debian)")
    if root.exists():
        shutil.rmtree(root)
    pool = _photo_pool(debian_cache)
    test = [name for name in TEST_PHOTOS if name in pool]
    rest = sorted(name for name in pool if name not in test)
    content_names, style_names = rest[0::2], rest[1::2]
    photos_dir = root / "photos"
    _write(photos_dir / "test", {name: pool[name] for name in test})
    _write(photos_dir / "content", {name: pool[name] for name in content_names})
    tasks = []
    for style in styles:
        make = STYLES[style]
        task_dir = root / style
        _write(task_dir / "style", {n: _apply(make, pool[n]) for n in style_names})
        _write(task_dir / "truth", {n: _apply(make, pool[n]) for n in test})
        tasks.append(
            StyleTask(
                style,
                photos_dir / "content",
                task_dir / "style",
                photos_dir / "test",
                task_dir / "truth",
            )
        )
    if painting:
        paintings = fetch_debian_images(WESNOTH, debian_cache)
        scaled = {p.stem: resize_shorter(load_rgb(p), DEMO_SIZE) for p in paintings}
        _write(root / "painting" / "style", scaled)
        _write(photos_dir / "all", {n: pool[n] for n in rest})
        tasks.append(
            StyleTask(
                "painting",
                photos_dir / "all",
                root / "painting" / "style",
                photos_dir / "test",
                None,
            )
        )
    return tasks


def _apply(make: Callable[[np.ndarray], np.ndarray], img: Image.Image) -> Image.Image:
    return Image.fromarray(make(np.asarray(img)))


def _write(folder: Path, images: dict[str, Image.Image]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        img.save(folder / f"{name}.png")
