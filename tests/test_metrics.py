"""Paired metrics: MSE, PSNR and SSIM equal scikit-image's."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from styleforge.evaluation.metrics import mse, psnr, ssim


def test_paired_metrics_equal_scikit_image_on_random_images() -> None:
    rng = np.random.default_rng(0)
    for shape in [(64, 48, 3), (31, 77, 3)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
        err = np.mean((a.astype(float) - b.astype(float)) ** 2)
        assert mse(a, b) == pytest.approx(err)
        assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / err))
        assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255))
        expected = structural_similarity(a, b, channel_axis=-1, data_range=255)
        assert ssim(a, b) == pytest.approx(expected)
        assert ssim(a, a) == pytest.approx(1.0)
        assert psnr(a, a) == float("inf")
