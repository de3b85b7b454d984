"""`Stylizer`: load a model file and stylize PIL images, arrays, tensors or paths.

Everything after training goes through this one object: the CLI, the web app, the benchmarks.
Any input size works: the image is padded to the network's multiple and cropped back.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.config import TrainConfig
from styleforge.data.augment import pil_to_unit, resize_shorter, unit_to_pil
from styleforge.data.images import DEFAULT_MAX_PIXELS, load_rgb
from styleforge.device import pick_device
from styleforge.errors import ModelFileError, StyleforgeError
from styleforge.inference.fastpath import autocast, prepare, resolve_precision, to_layout
from styleforge.inference.tiling import (
    exact_image_stats,
    image_stats,
    shared_instance_norm,
    stylize_tiled,
)
from styleforge.models.stylenet import StyleNet
from styleforge.training.checkpoint import load_model_file

REFERENCE_SIZE = 256  # reference images are encoded at this shorter side
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


class Stylizer(BaseStylizer):
    """A trained PyTorch model ready to stylize images.

    Fast paths (see `fastpath`): `precision` fp32 / bf16 / auto, `channels_last`, `compile`.
    `tile` > 0 stylizes images whose padded side exceeds it in overlapping tiles of that side
    (`tiling`): memory bounded by the tile, not the image."""

    def __init__(
        self,
        net: StyleNet,
        config: TrainConfig,
        device: torch.device,
        precision: str = "fp32",
        channels_last: bool = False,
        compile: bool = False,
        tile: int = 0,
        tile_overlap: int | None = None,
        tile_exact: bool = True,
    ):
        self.net = net.to(device).eval()
        self.config = config
        self.device = device
        self.precision = resolve_precision(precision, device)
        self.channels_last = channels_last
        self._forward = prepare(self.net, channels_last, compile)
        multiple = config.model.size_multiple
        self.tile = tile // multiple * multiple if tile > 0 else 0
        if self.tile and self.tile < 8 * multiple:
            raise StyleforgeError(f"--tile must be at least {8 * multiple} for this model")
        overlap = self.tile // 4 if tile_overlap is None else tile_overlap
        self.tile_overlap = max(multiple, overlap // multiple * multiple)
        self.tile_exact = tile_exact  # exact whole-image norm statistics (slower) or one pass
        if self.tile and self.tile_overlap > self.tile // 2:
            raise StyleforgeError("--tile-overlap must be at most half of --tile")

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", **options: Any) -> Stylizer:
        """Load a `.safetensors` model file; its metadata holds everything needed.

        `options` are the constructor's fast-path and tiling settings."""
        tensors, config, _ = load_model_file(Path(path))
        net = StyleNet(config.model)
        try:
            net.load_state_dict(tensors)
        except RuntimeError:
            raise ModelFileError(f"{path} has weights that do not match its config") from None
        return cls(net, config, pick_device(device), **options)

    @torch.inference_mode()
    def style_code(
        self,
        style: str | int | None = None,
        seed: int = 0,
        truncation: float = 1.0,
        noise_scale: float = 1.0,
        mix: dict[str, float] | None = None,
        reference: Image.Image | None = None,
    ) -> torch.Tensor:
        """The (1, code_dim) code to apply.

        From a reference image (encoded as `style`), or from noise z ~ N(0, noise_scale^2)
        drawn with `seed`, mapped for `style` or as a weighted `mix` of styles (one z for all),
        then pulled toward the style's mean code by `truncation` (1: not at all, 0: the mean)."""
        if reference is not None:
            label = torch.tensor([self.style_index(style)], device=self.device)
            ref = pil_to_unit(resize_shorter(reference.convert("RGB"), REFERENCE_SIZE))
            return self.net.encoder(ref.unsqueeze(0).to(self.device), label)
        weights = self._mix_weights(mix) if mix else {self.style_index(style): 1.0}
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(1, self.net.mapping.latent_dim, generator=gen).to(self.device)
        z = z * noise_scale
        code = torch.zeros(1, self.config.model.code_dim, device=self.device)
        for label, weight in weights.items():
            labels = torch.tensor([label], device=self.device)
            one = self.net.mapping(z, labels)
            if truncation != 1.0:
                mean = self.net.mean_codes(labels)
                one = mean + truncation * (one - mean)
            code = code + weight * one
        return code

    @torch.inference_mode()
    def stylize_tensor(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> same shape in [-1, 1], all with one (1, D) style code."""
        code = code.to(self.device)
        padded, (height, width) = pad_to_multiple(x, self.config.model.size_multiple)
        if self.tile and max(padded.shape[-2:]) > self.tile:
            out = torch.cat([self._tiled(image[None], code) for image in padded])
        else:
            out = self._run(padded, code.expand(x.shape[0], -1))
        return out[:, :, :height, :width].cpu()

    def _run(self, x: torch.Tensor, codes: torch.Tensor, net: Any = None) -> torch.Tensor:
        x = to_layout(x.to(self.device), self.channels_last)
        with autocast(self.device, self.precision):
            return (net or self._forward)(x, codes).float()

    def _tiled(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """One padded (1, 3, H, W) image in tiles, all normalised with the statistics of the
        whole image (`tiling`): exact by default, or one approximate pass with `tile_exact`
        off. The uncompiled network runs here: its norm layers are swapped meanwhile."""
        forward = partial(self._run, codes=code, net=self.net)
        args = (x, self.tile, self.tile_overlap, self.config.model.size_multiple)
        find = exact_image_stats if self.tile_exact else image_stats
        stats = find(self.net, forward, *args)
        with shared_instance_norm(self.net, stats):
            return stylize_tiled(forward, *args)


def open_stylizer(path: str | os.PathLike, device: str = "auto", **options: Any) -> BaseStylizer:
    """A `.onnx` file runs on onnxruntime; anything else is loaded as a PyTorch model file."""
    if str(path).lower().endswith(".onnx"):
        from styleforge.inference.onnx_backend import OnnxStylizer

        if options.get("tile"):
            raise StyleforgeError("--tile needs the .safetensors model (it swaps norm layers)")
        return OnnxStylizer.load(path, threads=options.get("threads", 0))
    options.pop("threads", None)
    return Stylizer.load(path, device, **options)


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
