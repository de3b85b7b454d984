"""The only place that opens image files.

Every image comes out as an 8-bit RGB PIL image the right way up (EXIF orientation applied),
whatever its mode; transparency is composited on white. A file that cannot be used raises
`ImageLoadError` naming the file and the reason, so callers can skip it and go on.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from styleforge.errors import ImageLoadError, ImageTooLargeError, NotAnImageError, StyleforgeError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
DEFAULT_MAX_PIXELS = 100_000_000
WHITE = (255, 255, 255)

# Our own pixel guard runs first and is the one users see; keep Pillow's as a backstop above it.
Image.MAX_IMAGE_PIXELS = None


def load_rgb(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image file as RGB, upright, alpha on white; raise ImageLoadError if unusable."""
    path = Path(path)
    if path.is_dir():
        raise ImageLoadError(path, "is a directory, not an image")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageLoadError(path, _os_reason(exc)) from None
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    return _decode(path, path, max_pixels)


def decode_rgb(
    data: bytes,
    name: str = "upload",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] | None = None,
) -> Image.Image:
    """Decode image bytes (an HTTP upload) exactly as `load_rgb` decodes a file.

    The format is read from the content, never from `name` (which only labels errors);
    `formats` (Pillow names such as "PNG", "JPEG") narrows the decoders that may run."""
    if not data:
        raise ImageLoadError(name, "empty file (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels, formats)


def _decode(
    source: Path | io.BytesIO,
    label: object,
    max_pixels: int,
    formats: Iterable[str] | None = None,
) -> Image.Image:
    """The one decoder: pixel guard before decoding, first frame, EXIF rotation, RGB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source, formats=list(formats) if formats else None) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageTooLargeError(
                        label,
                        f"too many pixels ({width}x{height} > {max_pixels:,}); "
                        "possibly a decompression bomb",
                    )
                img.seek(0)  # first frame of animations
                img.load()
                upright = ImageOps.exif_transpose(img)
                return to_rgb(upright)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise NotAnImageError(label, "not an image file Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(label, f"possibly a decompression bomb ({exc})") from None
    except PermissionError as exc:
        raise ImageLoadError(label, _os_reason(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(label, f"corrupt or truncated image ({exc})") from None


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; alpha is composited on white."""
    mode = img.mode
    if mode == "RGB":
        return img.copy()
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
        if mode == "RGB":
            return img
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _high_depth_to_rgb(img)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L").convert("RGB")
    return img.convert("RGB")  # L, CMYK, YCbCr, LAB, HSV, RGBX


def _high_depth_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit and float images: scale to 8 bits by their bit depth rather than clipping."""
    arr = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        top = max(float(arr.max()), 1.0) if arr.size else 1.0
        scaled = arr / top * 255.0
    else:
        scaled = arr / 257.0 if arr.size and arr.max() > 255 else arr
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def iter_image_files(root: str | os.PathLike, recursive: bool = True) -> Iterator[Path]:
    """Files under root with an image extension, sorted; symlinked folders are not followed."""
    root = Path(root)
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if is_image_name(path):
                    yield path
    else:
        for path in sorted(root.iterdir()):
            if is_image_name(path) and not path.is_dir():
                yield path


@dataclass
class LoadReport:
    """What loading a set of files gave: how many were usable, which were not and why."""

    loaded: int = 0
    failures: list[ImageLoadError] = field(default_factory=list)

    def summary(self, what: str = "images") -> str:
        text = f"{self.loaded} {what} loaded"
        if self.failures:
            text += f", {len(self.failures)} skipped"
        return text

    def log_failures(self) -> None:
        for failure in self.failures:
            log.warning("skipped %s", failure)


def load_many(
    paths: Iterable[Path], max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[tuple[Path, Image.Image | None, ImageLoadError | None]]:
    """Load each path, yielding (path, image, None) or (path, None, error); never raises."""
    for path in paths:
        try:
            yield path, load_rgb(path, max_pixels), None
        except ImageLoadError as exc:
            yield path, None, exc


def require_folder(path: str | os.PathLike, what: str) -> Path:
    """The path as a folder, or a one-line error naming the option it came from."""
    folder = Path(path)
    if not folder.exists():
        raise StyleforgeError(f"{what} folder {folder} does not exist")
    if not folder.is_dir():
        raise StyleforgeError(f"{what} path {folder} is not a folder")
    return folder
