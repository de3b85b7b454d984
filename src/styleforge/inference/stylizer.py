"""`Stylizer`: load a model file and stylize PIL images, arrays, tensors or paths.

Everything after training goes through this one object: the CLI, the web app, the benchmarks.
Any input size works: the image is padded to the network's multiple and cropped back.
"""

from __future__ import annotations

import contextlib
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from styleforge.config import TrainConfig
from styleforge.data.augment import pil_to_unit, resize_shorter
from styleforge.device import pick_device
from styleforge.errors import ModelFileError, StyleforgeError
from styleforge.inference.backend import BaseStylizer, pad_to_multiple
from styleforge.inference.fastpath import autocast, prepare, resolve_precision, to_layout
from styleforge.inference.tile_cache import cache_bytes, cache_limit, stylize_cached
from styleforge.inference.tiling import (
    TileLayout,
    exact_image_stats,
    image_stats,
    shared_instance_norm,
    stylize_tiled,
)
from styleforge.modelfile import load_model_file
from styleforge.models.stylenet import StyleNet

log = logging.getLogger(__name__)

REFERENCE_SIZE = 256  # reference images are encoded at this shorter side
MIB = 2**20


class Stylizer(BaseStylizer):
    """A trained PyTorch model ready to stylize images.

    Fast paths (see `fastpath`): `precision` fp32 / bf16 / auto, `channels_last`, `compile`.
    `tile` > 0 stylizes images whose padded side exceeds it in overlapping tiles of that side
    (`tiling`): network memory bounded by the tile, not the image. Exact tile statistics keep
    every tile's activations between norm layers when they fit in `tile_cache_mib` (default:
    `tile_cache.cache_limit`), and recompute them otherwise (same result, several times
    slower)."""

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
        tile_cache_mib: float | None = None,
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
        self.tile_cache_mib = tile_cache_mib  # None: decided by the memory free at each image
        if self.tile and self.tile_overlap > self.tile // 2:
            raise StyleforgeError("--tile-overlap must be at most half of --tile")

    @classmethod
    def load(
        cls, path: str | os.PathLike, device: str | torch.device = "auto", **options: Any
    ) -> Stylizer:
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
        *,
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
        x = self._place(x)
        with self._autocast():
            return (net or self._forward)(x, codes).float()

    def _place(self, x: torch.Tensor) -> torch.Tensor:
        return to_layout(x.to(self.device), self.channels_last)

    def _autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.precision)

    def _cache_fits(self, x: torch.Tensor, code: torch.Tensor, layout: TileLayout) -> bool:
        """Whether the tiles' activations fit under the cache limit; says why not if not."""
        generator = self.net.generator
        need = cache_bytes(generator, code, x.shape[2:], layout, self._place, self._autocast)
        limit = (
            cache_limit(self.device) if self.tile_cache_mib is None else self.tile_cache_mib * MIB
        )
        if need <= limit:
            return True
        log.info(
            "exact tile statistics: the tiles' activations need %.0f MiB, over the %.0f MiB "
            "limit; recomputing them for each norm layer instead (slower)",
            need / MIB,
            limit / MIB,
        )
        return False

    def _tiled(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """One padded (1, 3, H, W) image in tiles, all normalised with the statistics of the
        whole image (`tiling`): exact by default, or one approximate pass with `tile_exact`
        off. The uncompiled network runs here: its norm layers are swapped meanwhile."""
        layout = TileLayout(self.tile, self.tile_overlap, self.config.model.size_multiple)
        if self.tile_exact and self._cache_fits(x, code, layout):
            generator = self.net.generator
            return stylize_cached(generator, x, code, layout, self._place, self._autocast)
        forward = partial(self._run, codes=code, net=self.net)
        find = exact_image_stats if self.tile_exact else image_stats
        stats = find(self.net, forward, x, layout)
        with shared_instance_norm(self.net, stats):
            return stylize_tiled(forward, x, layout)


def open_stylizer(path: str | os.PathLike, device: str = "auto", **options: Any) -> BaseStylizer:
    """A `.onnx` file runs on onnxruntime (on the CPU); anything else is loaded as a PyTorch
    model file on `device`."""
    if str(path).lower().endswith(".onnx"):
        from styleforge.inference.onnx_backend import OnnxStylizer

        if device != "auto" and pick_device(device).type != "cpu":
            raise StyleforgeError(
                f"--device {device}: an .onnx model runs on onnxruntime's CPU provider; "
                "give the .safetensors model to run on another device"
            )
        if options.get("tile"):
            raise StyleforgeError("--tile needs the .safetensors model (it swaps norm layers)")
        return OnnxStylizer.load(path, threads=options.get("threads", 0))
    options.pop("threads", None)
    return Stylizer.load(path, device, **options)
