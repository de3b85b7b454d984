"""Paired image metrics: MSE, PSNR and SSIM (scikit-image's implementations), per image and mean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity


def _as_array(img: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(img.convert("RGB") if isinstance(img, Image.Image) else img)
    if arr.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {arr.dtype}")
    return arr


def mse(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Mean squared error on the 0-255 scale."""
    return float(
        mean_squared_error(_as_array(a).astype(np.float64), _as_array(b).astype(np.float64))
    )


def psnr(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (data range 255); inf for identical images."""
    x, y = _as_array(a), _as_array(b)
    if np.array_equal(x, y):
        return float("inf")
    return float(peak_signal_noise_ratio(x, y, data_range=255))


def ssim(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Structural similarity over the colour channels (scikit-image, 7x7 window)."""
    return structural(_as_array(a), _as_array(b), channel_axis=-1)


def structural(x: np.ndarray, y: np.ndarray, channel_axis: int | None = None) -> float:
    """scikit-image's SSIM (data range 255) with a window that fits images of any size: 7x7,
    or the largest odd side the image allows; a 1x1 window uses the population covariance,
    since the sample one would divide by zero."""
    win = min(7, *x.shape[:2])
    win -= 1 - win % 2  # odd window no larger than the image
    return float(
        structural_similarity(
            x, y, channel_axis=channel_axis, data_range=255, win_size=win,
            use_sample_covariance=win > 1,
        )
    )  # fmt: skip


@dataclass
class PairedScores:
    mse: float
    psnr: float
    ssim: float

    @classmethod
    def of(
        cls, output: Image.Image | np.ndarray, reference: Image.Image | np.ndarray
    ) -> PairedScores:
        return cls(mse(output, reference), psnr(output, reference), ssim(output, reference))

    @classmethod
    def mean(cls, scores: list[PairedScores]) -> PairedScores:
        return cls(
            float(np.mean([s.mse for s in scores])),
            float(np.mean([s.psnr for s in scores])),
            float(np.mean([s.ssim for s in scores])),
        )
