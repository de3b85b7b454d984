"""One stylize request's work, free of HTTP: bytes in, encoded image bytes out.

It runs on a worker thread: decoding (the same code path as files, with the pixel guard),
the `Stylizer` the CLI uses, the strength blend, the variants grid and encoding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from styleforge.data.images import decode_rgb
from styleforge.errors import ImageTooLargeError, StyleforgeError
from styleforge.inference.files import grid
from styleforge.inference.strength import apply_strength
from styleforge.server.limits import Deadline
from styleforge.server.models import LoadedModel, ModelEntry

# Decoders an upload may reach; the type is read from the content, never from the name.
UPLOAD_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
OUTPUT_FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg")}


class UnknownStyleError(StyleforgeError):
    """A style name the chosen model does not have."""


@dataclass(frozen=True)
class StylizeParams:
    """What a client chose; the defaults are the CLI's."""

    style: str | None = None
    seed: int = 0
    variants: int = 1
    strength: float = 1.0
    truncation: float = 1.0
    output: str = "png"

    def check(self, entry: ModelEntry, has_reference: bool) -> None:
        """Refuse what cannot work before the request takes a worker."""
        if self.style is not None and self.style not in entry.styles:
            raise UnknownStyleError(
                f"unknown style {self.style!r} for model {entry.name!r}; "
                f"it has: {', '.join(entry.styles)}"
            )
        if has_reference and self.variants > 1:
            raise StyleforgeError("variants come from noise; a reference image gives one result")


def render(
    model: LoadedModel,
    params: StylizeParams,
    photo: bytes,
    *,
    reference: bytes | None,
    max_pixels: int,
    deadline: Deadline,
) -> bytes:
    """Stylize `photo` (encoded bytes) and return the encoded result.

    Variants use seeds seed..seed+K-1 and come back as one grid, as `stylize --variants` does."""
    deadline.check()
    image = decode_rgb(photo, "image", max_pixels, UPLOAD_FORMATS)
    ref = decode_rgb(reference, "reference", max_pixels, UPLOAD_FORMATS) if reference else None
    pixels = image.width * image.height
    if params.variants * pixels > max_pixels:
        raise ImageTooLargeError(
            "image",
            f"{params.variants} variants of {image.width}x{image.height} exceed the server's "
            f"{max_pixels:,} pixels; ask for fewer variants or a smaller image",
        )
    results = []
    for i in range(params.variants):
        deadline.check()
        with model.lock:
            out = model.stylizer(
                image,
                style=params.style,
                seed=params.seed + i,
                truncation=params.truncation,
                reference=ref,
            )
        results.append(apply_strength(image, out, params.strength))
    deadline.check()
    return encode(results[0] if len(results) == 1 else grid(results), params.output)


def encode(img: Image.Image, output: str) -> bytes:
    """PNG (fast compression: the result is downloaded once) or JPEG at quality 95."""
    fmt, _ = OUTPUT_FORMATS[output]
    buffer = io.BytesIO()
    options = {"quality": 95} if fmt == "JPEG" else {"compress_level": 3}
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()
