"""Effect strength: a blend of the stylized image with the original.

Artists often want "less of the style" without retraining or another model; a pixel blend
is what they get from a layer's opacity in an editor, so it behaves as they expect.
"""

from __future__ import annotations

from PIL import Image

from styleforge.errors import StyleforgeError


def apply_strength(original: Image.Image, stylized: Image.Image, strength: float) -> Image.Image:
    """`strength` 1 gives the stylized image, 0 the original, between them a linear blend."""
    if not 0.0 <= strength <= 1.0:
        raise StyleforgeError(f"strength must be between 0 and 1, got {strength}")
    if original.size != stylized.size:
        raise StyleforgeError("strength needs the original and the stylized image at one size")
    if strength == 1.0:
        return stylized
    return Image.blend(original.convert("RGB"), stylized.convert("RGB"), strength)
