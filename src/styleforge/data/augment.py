"""Image <-> tensor conversion and training augmentation (crop, flip, rotation, colour jitter).

Augmentation draws from an explicit `torch.Generator`, so a training step's batch is a pure
function of its seed: that is what makes resume exact.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def resize_shorter(img: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is `size`, keeping the aspect ratio."""
    width, height = img.size
    scale = size / min(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new == img.size:
        return img
    return img.resize(new, Image.Resampling.BICUBIC, reducing_gap=3.0)


def pil_to_uint8(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor (3, H, W)."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def uint8_to_pil(x: torch.Tensor) -> Image.Image:
    """uint8 tensor (3, H, W) -> RGB PIL image (the decoded-image cache back to a picture)."""
    return Image.fromarray(x.permute(1, 2, 0).numpy())


def uint8_to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range the networks work in."""
    return x.float().div(127.5).sub(1.0)


def unit_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return x.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def pil_to_unit(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor (3, H, W) in [-1, 1]."""
    return uint8_to_unit(pil_to_uint8(img))


def unit_to_pil(x: torch.Tensor) -> Image.Image:
    """float tensor (3, H, W) in [-1, 1] -> RGB PIL image."""
    return Image.fromarray(unit_to_uint8(x.detach().cpu()).permute(1, 2, 0).numpy())


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Central size x size window of a (C, H, W) tensor."""
    _, height, width = x.shape
    top, left = (height - size) // 2, (width - size) // 2
    return x[:, top : top + size, left : left + size]


class Augmenter:
    """Random crop, flip, small rotation and colour jitter of decoded uint8 images."""

    def __init__(
        self, crop_size: int, flip: bool = True, rotate: float = 0.0, colour_jitter: float = 0.0
    ):
        self.crop_size = crop_size
        self.flip = flip
        self.rotate = rotate
        self.colour_jitter = colour_jitter

    def __call__(self, img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """uint8 (3, H, W) with H, W >= crop -> float (3, crop, crop) in [-1, 1]."""
        return self.apply(img, self.draw(img.shape, gen))

    def draw(self, shape: torch.Size | tuple[int, ...], gen: torch.Generator) -> dict:
        """The random parameters for one image of `shape` (C, H, W), without touching pixels.

        Drawing is split from applying so that distributed training can draw every image of the
        global batch (keeping one random stream) and only apply those of its own rank."""
        _, height, width = shape
        size = self.crop_size
        params: dict = {
            "top": int(torch.randint(0, height - size + 1, (1,), generator=gen)),
            "left": int(torch.randint(0, width - size + 1, (1,), generator=gen)),
        }
        params["flip"] = self.flip and bool(torch.rand((), generator=gen) < 0.5)
        if self.rotate > 0:
            params["angle"] = float(
                torch.empty(()).uniform_(-self.rotate, self.rotate, generator=gen)
            )
        if self.colour_jitter > 0:
            params["jitter"] = 1.0 + (torch.rand(3, generator=gen) * 2 - 1) * self.colour_jitter
        return params

    def apply(self, img: torch.Tensor, params: dict) -> torch.Tensor:
        """Crop, flip, rotate and jitter `img` with parameters from `draw`."""
        size, top, left = self.crop_size, params["top"], params["left"]
        x = uint8_to_unit(img[:, top : top + size, left : left + size])
        if params["flip"]:
            x = x.flip(-1)
        if "angle" in params:
            x = rotate(x, params["angle"])
        if "jitter" in params:
            x = apply_jitter(x, params["jitter"])
        return x


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate a (C, H, W) tensor about its centre; borders are filled by reflection."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype).unsqueeze(0)
    grid = F.affine_grid(matrix, [1, *x.shape], align_corners=False)
    out = F.grid_sample(
        x.unsqueeze(0), grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    return out.squeeze(0)


def jitter_colour(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Random brightness, contrast and saturation, each scaled by up to +-strength."""
    return apply_jitter(x, 1.0 + (torch.rand(3, generator=gen) * 2 - 1) * strength)


def apply_jitter(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast and saturation multiplied by the three `factors`."""
    brightness, contrast, saturation = (float(f) for f in factors)
    x = (x + 1) * 0.5
    x = x * brightness
    mean = x.mean()
    x = (x - mean) * contrast + mean
    gray = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
    x = (x - gray) * saturation + gray
    return x.clamp(0, 1) * 2 - 1
