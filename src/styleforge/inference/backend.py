"""`BaseStylizer`: what every backend (PyTorch, onnxruntime) shares.

Input types (PIL, arrays, tensors, paths), batching by size, noise variants, and the padding to
the network's multiple; a backend adds its model, `style_code` and `stylize_tensor`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.config import TrainConfig
from styleforge.data.augment import pil_to_unit, uint8_to_unit, unit_to_pil, unit_to_uint8
from styleforge.data.images import DEFAULT_MAX_PIXELS, load_rgb
from styleforge.errors import StyleforgeError

ImageLike = Image.Image | np.ndarray | torch.Tensor | str | os.PathLike


class BaseStylizer:
    """What every backend shares: input types, batching by size, noise variants.

    Backends supply `config`, `style_code` and `stylize_tensor`."""

    config: TrainConfig

    @property
    def styles(self) -> list[str]:
        return list(self.config.model.styles)

    def style_index(self, style: str | int | None) -> int:
        """Index of a style given by name or number; None means the first style."""
        if style is None:
            return 0
        if isinstance(style, int) and 0 <= style < len(self.styles):
            return style
        if isinstance(style, str) and style in self.styles:
            return self.styles.index(style)
        raise StyleforgeError(f"unknown style {style!r}; this model has: {', '.join(self.styles)}")

    def style_code(
        self,
        style: str | int | None = None,
        seed: int = 0,
        *,
        truncation: float = 1.0,
        noise_scale: float = 1.0,
        mix: dict[str, float] | None = None,
        reference: Image.Image | None = None,
    ) -> torch.Tensor:
        """The (1, code_dim) code to apply (see `Stylizer.style_code`)."""
        raise NotImplementedError

    def stylize_tensor(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> same shape in [-1, 1], all with one (1, D) style code."""
        raise NotImplementedError

    def _mix_weights(self, mix: dict[str, float]) -> dict[int, float]:
        if any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
            raise StyleforgeError("--mix weights must be >= 0 and not all 0")
        total = sum(mix.values())
        return {self.style_index(name): w / total for name, w in mix.items()}

    def __call__(
        self, image: ImageLike, style: str | int | None = None, seed: int = 0, **options: Any
    ) -> Image.Image | np.ndarray | torch.Tensor:
        """Stylize one image; the result has the input's type and pixel size.

        PIL images give PIL images; uint8 (H, W, 3) arrays give arrays; float tensors in [0, 1],
        (3, H, W) or (N, 3, H, W), give tensors; a path gives a PIL image. `options` are those
        of `style_code` (truncation, noise_scale, mix, reference)."""
        code = self.style_code(style, seed, **options)
        if isinstance(image, (str, os.PathLike)):
            image = load_rgb(image, DEFAULT_MAX_PIXELS)
        if isinstance(image, Image.Image):
            return self.stylize_pil([image], code)[0]
        if isinstance(image, np.ndarray):
            return np.asarray(self.stylize_pil([Image.fromarray(_as_uint8_rgb(image))], code)[0])
        if isinstance(image, torch.Tensor):
            batch = image.unsqueeze(0) if image.dim() == 3 else image
            out = (self.stylize_tensor(batch.float() * 2 - 1, code) + 1) / 2
            return out[0] if image.dim() == 3 else out
        raise StyleforgeError(f"cannot stylize an object of type {type(image).__name__}")

    def variants(
        self,
        image: Image.Image,
        count: int,
        style: str | int | None = None,
        seed: int = 0,
        **options: Any,
    ) -> list[Image.Image]:
        """`count` stylizations of one image from noise seeds seed, seed + 1, ..."""
        codes = [self.style_code(style, seed + i, **options) for i in range(count)]
        return [self.stylize_pil([image], code)[0] for code in codes]

    def stylize_pil(
        self, images: list[Image.Image], code: torch.Tensor, batch_size: int = 1
    ) -> list[Image.Image]:
        """Stylize PIL images of any sizes with one style code; equal sizes run in batches.

        Each result keeps its input's size, and does not depend on the batching."""
        results: list[Image.Image | None] = [None] * len(images)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(images):
            by_size.setdefault(img.size, []).append(i)
        for indices in by_size.values():
            for start in range(0, len(indices), max(1, batch_size)):
                chunk = indices[start : start + max(1, batch_size)]
                x = torch.stack([pil_to_unit(images[i].convert("RGB")) for i in chunk])
                for i, out in zip(chunk, self.stylize_tensor(x, code), strict=True):
                    results[i] = unit_to_pil(out)
        return results

    def stylize_frames(self, frames: list[np.ndarray], code: torch.Tensor) -> list[np.ndarray]:
        """Stylize equal-size uint8 (H, W, 3) RGB arrays as one batch (video frames).

        The same conversions as `stylize_pil`, without PIL images at every frame."""
        x = uint8_to_unit(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous())
        out = unit_to_uint8(self.stylize_tensor(x, code)).permute(0, 2, 3, 1).contiguous()
        return list(out.numpy())


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the bottom and right of (N, C, H, W) to multiples of `multiple`; return the old size.

    Sides are also padded up to 4 * multiple, so even a 1x1 image leaves the encoder with more
    than one pixel for instance norm. Reflection where the image allows it, else replication."""
    height, width = x.shape[-2:]
    target_h = max(4 * multiple, height + (-height) % multiple)
    target_w = max(4 * multiple, width + (-width) % multiple)
    pad_h, pad_w = target_h - height, target_w - width
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (height, width)


def _as_uint8_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise StyleforgeError(f"arrays must be uint8 (H, W, 3), got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise StyleforgeError(f"arrays must be (H, W, 3), got shape {arr.shape}")
    return arr[..., :3]
