"""Unpaired scores: how close outputs are to a style set, and how much content they keep.

Usable on arrays (any RGB uint8 images) without a model: `distribution_scores` compares two sets
of images through a feature network, `content_scores` compares each output with its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from styleforge.evaluation.distances import frechet_distance, kernel_distance
from styleforge.evaluation.metrics import structural
from styleforge.models.layers import LUMA

ImageArray = Image.Image | np.ndarray


class FeatureNetwork(Protocol):
    name: str

    def pooled(self, images: list[ImageArray]) -> np.ndarray: ...


@dataclass
class DistributionScores:
    network: str  # ENL0, or Inception for the standard FID/KID
    fd: float
    kd: float
    kd_std: float

    @property
    def fd_name(self) -> str:
        return "FID" if self.network == "Inception" else f"FD-{self.network}"

    @property
    def kd_name(self) -> str:
        return "KID" if self.network == "Inception" else f"KD-{self.network}"

    def as_dict(self) -> dict[str, float]:
        return {self.fd_name: self.fd, self.kd_name: self.kd, f"{self.kd_name} std": self.kd_std}


def distribution_scores(
    network: str, features: np.ndarray, style_features: np.ndarray
) -> DistributionScores:
    """FD and KD between the outputs' features and the style set's, from one `network`."""
    kd = kernel_distance(features, style_features)
    return DistributionScores(network, frechet_distance(features, style_features), kd.mean, kd.std)


def luminance(img: ImageArray) -> np.ndarray:
    """ITU-R 601 luma in 0-255, the channel SSIM compares for content (colour may change)."""
    rgb = np.asarray(img.convert("RGB") if isinstance(img, Image.Image) else img, np.float64)
    return rgb @ np.array(LUMA)


def content_ssim(inp: ImageArray, out: ImageArray) -> float:
    """SSIM of luminance between an input and its stylization: structure kept, colour ignored."""
    return structural(luminance(inp), luminance(out))
